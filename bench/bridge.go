package bench

import (
	"fmt"
	"net/netip"
	"os"
	"sync/atomic"

	"github.com/vmmlab/vmm/privnet"
	"github.com/vmmlab/vmm/tap"
)

// Bridge is the private network density runs plug instances into: a
// bridge in its own network namespace (taps for VMs, veths for
// containers). Nothing outside that namespace sees it.
type Bridge struct {
	net  *privnet.Network
	taps atomic.Int64
}

// newBridge creates the namespace and its bridge on prefix.
func newBridge(prefix netip.Prefix) (*Bridge, error) {
	n, err := privnet.New(prefix)
	if err != nil {
		return nil, err
	}
	return &Bridge{net: n}, nil
}

// Prefix is the bridge's network; Gateway its own address.
func (b *Bridge) Prefix() netip.Prefix { return b.net.Prefix() }
func (b *Bridge) Gateway() netip.Addr  { return b.net.Gateway() }
func (b *Bridge) Leftovers() []string  { return b.net.Leftovers() }
func (b *Bridge) Close() error         { return b.net.Close() }

// tap creates a TAP in the bridge's namespace, plugs it in and returns its
// queue (with virtio-net headers, for vmm's --net fd=N) and an address
// for the VM behind it. The tap goes away when the file is closed by
// every holder.
func (b *Bridge) tap() (*os.File, netip.Addr, error) {
	name := fmt.Sprintf("vbt%d", b.taps.Add(1))
	var tp *tap.Tap
	err := b.net.NS.Do(func() error {
		var err error
		tp, err = tap.Open(tap.Device, name)
		return err
	})
	if err != nil {
		return nil, netip.Addr{}, fmt.Errorf("tap %s: %w", name, err)
	}
	defer tp.Close()
	if err := b.net.AttachTap(name); err != nil {
		return nil, netip.Addr{}, err
	}
	addr, _, err := b.net.Allocate() // the network ends whole with the run
	if err != nil {
		return nil, netip.Addr{}, err
	}
	f, err := tp.File()
	if err != nil {
		return nil, netip.Addr{}, err
	}
	return f, addr.Addr(), nil
}
