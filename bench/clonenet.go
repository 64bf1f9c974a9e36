package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"

	"github.com/vmmlab/vmm/internal/netns"
	"github.com/vmmlab/vmm/tap"
)

// Every clone of a snapshot keeps the guest's MAC and address, so clones
// cannot share a bridge: each gets a network namespace of its own holding
// one tap, whose host side has the gateway address the guest had when it
// was snapshotted. The namespace is the clone's link, as a container's
// veth is its own; the density report counts its kernel memory with the
// clone's.
var (
	cloneGateway = netip.MustParsePrefix("10.250.0.1/24")
	cloneGuest   = netip.MustParsePrefix("10.250.0.2/24")
)

// cloneNet is one clone's namespace and tap.
type cloneNet struct {
	ns  *netns.NS
	tap *os.File // the tap's queue, for vmm's --net fd=3
}

// cloneTap is the tap's name: alone in its namespace, it needs no other.
const cloneTap = "vclone0"

func newCloneNet() (*cloneNet, error) {
	ns, err := netns.New()
	if err != nil {
		return nil, fmt.Errorf("clone network: %w", err)
	}
	name := cloneTap
	var tp *tap.Tap
	err = ns.Do(func() error {
		var err error
		if tp, err = tap.Open(tap.Device, name); err != nil {
			return err
		}
		return netns.SetUp(name, cloneGateway)
	})
	if err != nil {
		if tp != nil {
			tp.Close()
		}
		ns.Close()
		return nil, fmt.Errorf("clone network: tap %s: %w", name, err)
	}
	defer tp.Close() // the file below holds the queue
	f, err := tp.File()
	if err != nil {
		ns.Close()
		return nil, fmt.Errorf("clone network: %w", err)
	}
	return &cloneNet{ns: ns, tap: f}, nil
}

func (c *cloneNet) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	return c.ns.DialContext(ctx, network, addr)
}

// Close drops vmm's side of the tap and the namespace (the kernel frees
// them when the last holder, the clone's vmm, has gone too).
func (c *cloneNet) Close() error {
	return errors.Join(c.tap.Close(), c.ns.Close())
}
