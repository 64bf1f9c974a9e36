package privnet

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"testing"

	"github.com/vmmlab/vmm/internal/netns"
	"github.com/vmmlab/vmm/tap"
)

// Two namespaces plugged into the bridge reach the gateway and each other
// over TCP; closing the ports leaves no veth behind.
func TestAttachNS(t *testing.T) {
	n, err := New(netip.MustParsePrefix("10.0.3.0/24"))
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if n.Gateway() != netip.MustParseAddr("10.0.3.1") {
		t.Errorf("gateway %v", n.Gateway())
	}
	ln, err := n.NS.Listen("tcp", n.Gateway().String()+":8080")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go serve(ln, "gateway")

	var ports []*Port
	var guests []*netns.NS
	for i := range 2 {
		g, err := netns.New()
		if err != nil {
			t.Fatal(err)
		}
		defer g.Close()
		p, err := n.AttachNS(fmt.Sprintf("/proc/self/fd/%d", g.FD()), "eth0")
		if err != nil {
			t.Fatal(err)
		}
		if want := netip.MustParsePrefix(fmt.Sprintf("10.0.3.%d/24", i+2)); p.Addr != want {
			t.Errorf("port %d address %v, want %v", i, p.Addr, want)
		}
		ports, guests = append(ports, p), append(guests, g)
	}
	peer, err := guests[1].Listen("tcp", ports[1].Addr.Addr().String()+":80")
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	go serve(peer, "peer")
	for addr, want := range map[string]string{n.Gateway().String() + ":8080": "gateway", ports[1].Addr.Addr().String() + ":80": "peer"} {
		c, err := guests[0].DialContext(context.Background(), "tcp", addr)
		if err != nil {
			t.Fatalf("dial %s from the first namespace: %v", addr, err)
		}
		got, _ := io.ReadAll(c)
		c.Close()
		if string(got) != want {
			t.Errorf("%s answered %q", addr, got)
		}
	}
	if left := n.Leftovers(); len(left) != 2 {
		t.Errorf("veths while attached: %v", left)
	}
	for _, p := range ports {
		if err := p.Close(); err != nil {
			t.Error(err)
		}
	}
	if left := n.Leftovers(); len(left) != 0 {
		t.Errorf("veths left: %v", left)
	}
}

func serve(ln net.Listener, name string) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		io.WriteString(c, name)
		c.Close()
	}
}

func TestNewRejectsBadPrefix(t *testing.T) {
	for _, p := range []string{"fd00::/64", "10.0.0.0/31", "10.0.0.0/4"} {
		if _, err := New(netip.MustParsePrefix(p)); err == nil {
			t.Errorf("%s accepted", p)
		}
	}
}

// A tap made in the network's namespace is plugged into the bridge and
// brought up; the addresses VMs get come after the containers' ones.
func TestAttachTap(t *testing.T) {
	n, err := New(netip.MustParsePrefix("10.0.5.0/24"))
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	var tp *tap.Tap
	if err := n.NS.Do(func() error {
		var err error
		tp, err = tap.Open(tap.Device, "vmmtap9")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer tp.Close()
	if err := n.AttachTap("vmmtap9"); err != nil {
		t.Fatal(err)
	}
	l, err := n.h.LinkByName("vmmtap9")
	if err != nil {
		t.Fatal(err)
	}
	if l.Attrs().MasterIndex != n.bridge.Attrs().Index || l.Attrs().Flags&net.FlagUp == 0 {
		t.Errorf("tap master %d (bridge %d), flags %v", l.Attrs().MasterIndex, n.bridge.Attrs().Index, l.Attrs().Flags)
	}
	if a, _, err := n.Allocate(); err != nil || a != netip.MustParsePrefix("10.0.5.2/24") {
		t.Errorf("first address %v %v", a, err)
	}
	if err := n.AttachTap("nosuch0"); err == nil {
		t.Error("a missing tap was attached")
	}
}

// A /30 has room for the gateway and one port; the next one is refused.
func TestNetworkFull(t *testing.T) {
	n, err := New(netip.MustParsePrefix("10.0.6.0/30"))
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if a, _, err := n.Allocate(); err != nil || a.Addr() != netip.MustParseAddr("10.0.6.2") {
		t.Fatalf("%v %v", a, err)
	}
	if _, _, err := n.Allocate(); err == nil {
		t.Error("the broadcast address was handed out")
	}
}
