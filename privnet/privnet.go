// Package privnet owns the networks vmm plugs containers and VMs into: a
// bridge whose address is the gateway, and ports plugged into it — a
// veth whose other end sits in a container's network namespace, or a
// VM's TAP. The bench's networks live in a network namespace of their
// own and leave the host's network untouched; the host bridge (OnHost:
// vmmbr0 of vmm run --net, like docker0) is made once in the host's
// namespace and kept, its addresses leased between processes through
// lock files.
package privnet

import (
	"fmt"
	"golang.org/x/sys/unix"
	"net"
	"net/netip"
	"sync"

	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"

	"github.com/vmmlab/vmm/internal/netns"
)

// BridgeName is the bridge inside a private network's namespace, and
// the host bridge's name.
const BridgeName = "vmmbr0"

// Network is a bridge in a private network namespace.
type Network struct {
	NS     *netns.NS // nil for the host bridge
	prefix netip.Prefix
	h      *netlink.Handle
	bridge netlink.Link

	mu     sync.Mutex
	next   netip.Addr
	leases *leases // the host bridge's; nil for a private network
}

// New creates the namespace and the bridge, which takes the first
// address of prefix (an IPv4 /8 to /30).
func New(prefix netip.Prefix) (*Network, error) {
	prefix = prefix.Masked()
	if !prefix.Addr().Is4() || prefix.Bits() < 8 || prefix.Bits() > 30 {
		return nil, fmt.Errorf("network %v: want an IPv4 prefix from /8 to /30", prefix)
	}
	ns, err := netns.New()
	if err != nil {
		return nil, err
	}
	n := &Network{NS: ns, prefix: prefix}
	if err := n.setup(); err != nil {
		n.Close()
		return nil, err
	}
	return n, nil
}

func (n *Network) setup() error {
	var err error
	if n.h, err = netlink.NewHandleAt(vnetns.NsHandle(n.NS.FD()), unix.NETLINK_ROUTE); err != nil {
		return fmt.Errorf("netlink in the network's namespace: %w", err)
	}
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: BridgeName}}
	if err := n.h.LinkAdd(br); err != nil {
		return fmt.Errorf("create bridge: %w", err)
	}
	if n.bridge, err = n.h.LinkByName(BridgeName); err != nil {
		return err
	}
	gw := n.Gateway()
	if err := n.h.AddrAdd(n.bridge, &netlink.Addr{IPNet: ipnet(netip.PrefixFrom(gw, n.prefix.Bits()))}); err != nil {
		return fmt.Errorf("bridge address: %w", err)
	}
	if err := n.h.LinkSetUp(n.bridge); err != nil {
		return err
	}
	n.next = gw.Next()
	return nil
}

// Gateway is the bridge's address.
func (n *Network) Gateway() netip.Addr { return n.prefix.Addr().Next() }

// Prefix is the network's address range.
func (n *Network) Prefix() netip.Prefix { return n.prefix }

// allocate hands out the next free address, and how to give it back.
func (n *Network) allocate() (netip.Prefix, func(), error) {
	if n.leases != nil {
		return n.leases.take(n.prefix, n.Gateway())
	}
	p, err := n.allocateNext()
	return p, func() {}, err
}

// allocateNext hands out the next address of a private network.
func (n *Network) allocateNext() (netip.Prefix, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	a := n.next
	if !n.prefix.Contains(a.Next()) { // keep the broadcast address free
		return netip.Prefix{}, fmt.Errorf("network %v is full", n.prefix)
	}
	n.next = a.Next()
	return netip.PrefixFrom(a, n.prefix.Bits()), nil
}

// Port is a veth pair plugging a namespace into the bridge.
type Port struct {
	Addr     netip.Prefix // the address inside the target namespace
	hostName string
	n        *Network
	release  func() // gives the address back
}

// AttachNS plugs the network namespace at nsPath (e.g.
// /proc/<pid>/ns/net) into the bridge: its end is named ifname, gets the
// next free address, and a default route through the gateway.
func (n *Network) AttachNS(nsPath, ifname string) (*Port, error) {
	addr, release, err := n.allocate()
	if err != nil {
		return nil, err
	}
	target, err := vnetns.GetFromPath(nsPath)
	if err != nil {
		release()
		return nil, fmt.Errorf("network namespace %s: %w", nsPath, err)
	}
	defer target.Close()
	id := addr.Addr().As4()
	p := &Port{Addr: addr, hostName: fmt.Sprintf("vh%d_%d_%d", id[1], id[2], id[3]), n: n, release: release}
	peerName := "vp" + p.hostName[2:]
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: p.hostName, MasterIndex: n.bridge.Attrs().Index},
		PeerName: peerName, PeerNamespace: netlink.NsFd(int(target))}
	if err := n.h.LinkAdd(veth); err != nil {
		release()
		return nil, fmt.Errorf("create veth %s: %w", p.hostName, err)
	}
	if err := p.configure(target, peerName, ifname); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

func (p *Port) configure(target vnetns.NsHandle, peerName, ifname string) error {
	host, err := p.n.h.LinkByName(p.hostName)
	if err != nil {
		return err
	}
	if err := p.n.h.LinkSetUp(host); err != nil {
		return err
	}
	th, err := netlink.NewHandleAt(target, unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("netlink in the target namespace: %w", err)
	}
	defer th.Close()
	peer, err := th.LinkByName(peerName)
	if err != nil {
		return err
	}
	if err := th.LinkSetName(peer, ifname); err != nil {
		return fmt.Errorf("rename %s to %s: %w", peerName, ifname, err)
	}
	if err := th.AddrAdd(peer, &netlink.Addr{IPNet: ipnet(p.Addr)}); err != nil {
		return fmt.Errorf("address %v: %w", p.Addr, err)
	}
	if err := th.LinkSetUp(peer); err != nil {
		return err
	}
	if lo, err := th.LinkByName("lo"); err == nil {
		th.LinkSetUp(lo) // best effort: only local services need it
	}
	gw := p.n.Gateway().AsSlice()
	if err := th.RouteAdd(&netlink.Route{LinkIndex: peer.Attrs().Index, Gw: net.IP(gw)}); err != nil {
		return fmt.Errorf("default route: %w", err)
	}
	return nil
}

// Close removes the veth pair (if its other end has not gone already
// with its namespace).
func (p *Port) Close() error {
	defer p.release()
	l, err := p.n.h.LinkByName(p.hostName)
	if err != nil {
		return nil // gone with the container's namespace
	}
	return p.n.h.LinkDel(l)
}

// AttachTap plugs a TAP interface that lives in the network's namespace
// (open it inside n.NS.Do) into the bridge and brings it up; the VM
// behind it takes an address from Allocate.
func (n *Network) AttachTap(name string) error {
	l, err := n.h.LinkByName(name)
	if err != nil {
		return fmt.Errorf("tap %s: %w", name, err)
	}
	if err := n.h.LinkSetMaster(l, n.bridge); err != nil {
		return fmt.Errorf("tap %s into the bridge: %w", name, err)
	}
	return n.h.LinkSetUp(l)
}

// Allocate hands out an address for a VM behind a tap, and how to give
// it back (a no-op on a private network, which ends whole).
func (n *Network) Allocate() (netip.Prefix, func(), error) { return n.allocate() }

// Leftovers lists the veths still in the network's namespace.
func (n *Network) Leftovers() []string {
	links, err := n.h.LinkList()
	if err != nil {
		return []string{err.Error()}
	}
	var left []string
	for _, l := range links {
		if _, ok := l.(*netlink.Veth); ok {
			left = append(left, l.Attrs().Name)
		}
	}
	return left
}

// Close removes a private network's namespace with its bridge and every
// port; the host bridge stays.
func (n *Network) Close() error {
	if n.h != nil {
		n.h.Close()
	}
	if n.NS == nil {
		return nil
	}
	return n.NS.Close()
}

func ipnet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}
