package guestinit

import (
	"errors"
	"net"
	"net/netip"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/vmmlab/vmm/internal/netns"
)

// configureNetwork in a namespace of its own, on a veth named eth0: the
// address, the mask, the link up and the default route land in the
// kernel; a second default route is the kernel's error, passed on.
func TestConfigureNetwork(t *testing.T) {
	ns, err := netns.New()
	if err != nil {
		t.Skipf("a network namespace: %v", err)
	}
	defer ns.Close()
	err = ns.Do(func() error {
		if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "eth0"}, PeerName: "peer0"}); err != nil {
			return err
		}
		if err := configureNetwork("eth0", netip.MustParsePrefix("10.0.4.17/24"), netip.MustParseAddr("10.0.4.1")); err != nil {
			return err
		}
		l, err := netlink.LinkByName("eth0")
		if err != nil {
			return err
		}
		addrs, _ := netlink.AddrList(l, netlink.FAMILY_V4)
		if len(addrs) != 1 || addrs[0].IPNet.String() != "10.0.4.17/24" {
			t.Errorf("addresses %v", addrs)
		}
		if l.Attrs().Flags&net.FlagUp == 0 {
			t.Errorf("eth0 is not up: %v", l.Attrs().Flags)
		}
		routes, _ := netlink.RouteList(nil, netlink.FAMILY_V4)
		found := false
		for _, r := range routes {
			found = found || (r.Dst == nil || r.Dst.String() == "0.0.0.0/0") && r.Gw.String() == "10.0.4.1"
		}
		if !found {
			t.Errorf("no default route via 10.0.4.1 in %v", routes)
		}
		if err := addDefaultRoute(netip.MustParseAddr("10.0.4.1")); !errors.Is(err, unix.EEXIST) {
			t.Errorf("a second default route: %v, want EEXIST", err)
		}
		if err := configureNetwork("nosuch0", netip.MustParsePrefix("10.0.5.2/24"), netip.Addr{}); err == nil {
			t.Error("a missing interface was configured")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := configureNetwork("eth0", netip.MustParsePrefix("fd00::2/64"), netip.Addr{}); err == nil {
		t.Error("IPv6 was taken")
	}
}

func TestNetlinkAck(t *testing.T) {
	for _, b := range [][]byte{nil, make([]byte, 19), routeRequest(netip.MustParseAddr("10.0.0.1"), 1)} {
		if err := netlinkAck(b); err == nil {
			t.Errorf("%x taken as an ack", b)
		}
	}
}
