package privnet

import (
	"net"
	"net/netip"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/vmmlab/vmm/internal/netns"
)

// onHostIn runs OnHost in ns, a stand-in for the host's namespace.
func onHostIn(t *testing.T, ns *netns.NS, name string, prefix netip.Prefix, dir string) (*Network, error) {
	t.Helper()
	var n *Network
	err := ns.Do(func() error {
		var err error
		n, err = OnHost(name, prefix, dir)
		return err
	})
	return n, err
}

// The host bridge is made once and found again; its addresses are
// leased so that two holders never share one, and come back when
// released; a /30 has one to give.
func TestOnHostLeases(t *testing.T) {
	host, err := netns.New()
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	dir := t.TempDir()
	prefix := netip.MustParsePrefix("10.0.9.0/24")
	n, err := onHostIn(t, host, "vmmbr0", prefix, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	again, err := onHostIn(t, host, "vmmbr0", prefix, dir)
	if err != nil {
		t.Fatalf("the second use of the bridge: %v", err)
	}
	again.Close()
	br, err := n.h.LinkByName("vmmbr0")
	if err != nil {
		t.Fatal(err)
	}
	addrs, err := n.h.AddrList(br, netlink.FAMILY_V4)
	if err != nil || len(addrs) != 1 || addrs[0].IP.String() != "10.0.9.1" || br.Attrs().Flags&net.FlagUp == 0 {
		t.Errorf("bridge addresses %v (%v), flags %v", addrs, err, br.Attrs().Flags)
	}
	a, releaseA, err := n.Allocate()
	if err != nil || a.String() != "10.0.9.2/24" {
		t.Fatalf("first lease %v, %v", a, err)
	}
	b, releaseB, err := again.Allocate() // another holder of the same leases
	if err != nil || b.String() != "10.0.9.3/24" {
		t.Fatalf("second lease %v, %v", b, err)
	}
	releaseA()
	if c, releaseC, err := n.Allocate(); err != nil || c != a {
		t.Errorf("after a release: %v, %v (want %v)", c, err, a)
	} else {
		releaseC()
	}
	releaseB()

	small, err := onHostIn(t, host, "vmmbr1", netip.MustParsePrefix("10.0.10.0/30"), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer small.Close()
	if _, release, err := small.Allocate(); err != nil {
		t.Fatalf("a /30's one address: %v", err)
	} else {
		defer release()
	}
	if _, _, err := small.Allocate(); err == nil {
		t.Error("a full network leased an address")
	}
}

// A link of the bridge's name that is no bridge (a veth) is refused.
func TestOnHostRefusesANonBridge(t *testing.T) {
	host, err := netns.New()
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	err = host.Do(func() error {
		return netlink.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "vmmbr0"}, PeerName: "peer0"})
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := onHostIn(t, host, "vmmbr0", netip.MustParsePrefix("10.0.9.0/24"), t.TempDir()); err == nil {
		t.Fatal("a dummy link was taken for the bridge")
	}
}
