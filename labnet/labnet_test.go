package labnet

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"testing"

	"github.com/vmmlab/vmm/internal/netns"
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
