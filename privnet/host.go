package privnet

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// HostPrefix is the host bridge's network: vmmbr0 takes 10.0.4.1.
func HostPrefix() netip.Prefix { return netip.MustParsePrefix("10.0.4.0/24") }

// HostLeases is where the host bridge's address leases are.
const HostLeases = "/run/vmm/vmmbr0"

// OnHost returns the host bridge name in the host's network namespace,
// creating it with prefix's first address (no NAT) when it is missing,
// as dockerd makes docker0; it is kept after the network is closed.
// Addresses are leased through lock files in leaseDir, so that every
// process plugging into the bridge gets its own.
func OnHost(name string, prefix netip.Prefix, leaseDir string) (*Network, error) {
	prefix = prefix.Masked()
	if !prefix.Addr().Is4() || prefix.Bits() < 16 || prefix.Bits() > 30 {
		return nil, fmt.Errorf("network %v: want an IPv4 prefix from /16 to /30", prefix)
	}
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("netlink: %w", err)
	}
	n := &Network{prefix: prefix, h: h, leases: &leases{dir: leaseDir}}
	if err := n.hostBridge(name); err != nil {
		h.Close()
		return nil, fmt.Errorf("host bridge %s: %w", name, err)
	}
	return n, nil
}

// hostBridge finds the bridge or makes it, gives it the gateway address
// and brings it up.
func (n *Network) hostBridge(name string) error {
	err := n.h.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name}})
	if err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("create: %w", err)
	}
	if n.bridge, err = n.h.LinkByName(name); err != nil {
		return err
	}
	if _, ok := n.bridge.(*netlink.Bridge); !ok {
		return fmt.Errorf("%s exists and is not a bridge (%s)", name, n.bridge.Type())
	}
	gw := &netlink.Addr{IPNet: ipnet(netip.PrefixFrom(n.Gateway(), n.prefix.Bits()))}
	if err := n.h.AddrAdd(n.bridge, gw); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("address %v: %w", gw.IPNet, err)
	}
	return n.h.LinkSetUp(n.bridge)
}

// leases hands out a network's addresses between processes: an address
// is taken while its lock file is locked (flock), by the process that
// holds it, and free again when that process closes it or dies.
type leases struct {
	dir string
}

// take leases the first free address after the gateway.
func (l *leases) take(prefix netip.Prefix, gw netip.Addr) (netip.Prefix, func(), error) {
	if err := os.MkdirAll(l.dir, 0o700); err != nil {
		return netip.Prefix{}, nil, fmt.Errorf("address leases: %w", err)
	}
	for a := gw.Next(); prefix.Contains(a.Next()); a = a.Next() { // the broadcast address stays free
		f, err := os.OpenFile(filepath.Join(l.dir, a.String()), os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW, 0o600)
		if err != nil {
			return netip.Prefix{}, nil, fmt.Errorf("address lease %v: %w", a, err)
		}
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
			f.Close()
			continue // held by another process
		}
		return netip.PrefixFrom(a, prefix.Bits()), func() { f.Close() }, nil
	}
	return netip.Prefix{}, nil, fmt.Errorf("network %v is full: every address is leased (%s)", prefix, l.dir)
}
