// Package tapns makes a network namespace of its own holding one tap,
// the host side of a VM's link: the tap's host address is set and up,
// and the caller keeps the tap's queue to hand to vmm (--net fd=3). A
// VM whose address is fixed (a snapshot's clone, a test guest) needs no
// bridge this way, and nothing it does is seen outside the namespace.
package tapns

import (
	"errors"
	"fmt"
	"net/netip"
	"os"

	"github.com/vmmlab/vmm/internal/netns"
	"github.com/vmmlab/vmm/tap"
)

// Net is one namespace with its tap.
type Net struct {
	NS  *netns.NS
	Tap *os.File // the tap's queue
}

// New makes the namespace and the tap called name in it, the host side
// at addr.
func New(name string, addr netip.Prefix) (*Net, error) {
	ns, err := netns.New()
	if err != nil {
		return nil, fmt.Errorf("tap namespace: %w", err)
	}
	var tp *tap.Tap
	err = ns.Do(func() error {
		var err error
		if tp, err = tap.Open(tap.Device, name); err != nil {
			return err
		}
		return netns.SetUp(name, addr)
	})
	if err != nil {
		if tp != nil {
			tp.Close()
		}
		ns.Close()
		return nil, fmt.Errorf("tap namespace: tap %s: %w", name, err)
	}
	defer tp.Close() // the file below holds the queue
	f, err := tp.File()
	if err != nil {
		ns.Close()
		return nil, fmt.Errorf("tap namespace: %w", err)
	}
	return &Net{NS: ns, Tap: f}, nil
}

// Close drops this side of the tap and the namespace (the kernel frees
// them when the last holder, a vmm given the tap, has gone too).
func (n *Net) Close() error {
	return errors.Join(n.Tap.Close(), n.NS.Close())
}
