package main

import (
	"fmt"

	"github.com/vmmlab/vmm/privnet"
	"github.com/vmmlab/vmm/tap"
	"github.com/vmmlab/vmm/vmrun"
)

// hostBridge is the host bridge vmmbr0 (10.0.4.1/24, no NAT), made on
// first use and kept, as docker0 is.
func hostBridge() (*privnet.Network, error) {
	return privnet.OnHost(privnet.BridgeName, privnet.HostPrefix(), privnet.HostLeases)
}

// joinHostBridge plugs a VM into the host bridge: a tap on it, named
// after the address the VM leases, and returns how to let go of both
// once the VM has ended.
func joinHostBridge() (*vmrun.Net, func(), error) {
	n, err := hostBridge()
	if err != nil {
		return nil, nil, err
	}
	addr, release, err := n.Allocate()
	if err != nil {
		n.Close()
		return nil, nil, err
	}
	undo := func() { release(); n.Close() }
	id := addr.Addr().As4()
	name := fmt.Sprintf("vmmt%d_%d", id[2], id[3])
	tp, err := tap.Open(tap.Device, name)
	if err != nil {
		undo()
		return nil, nil, err
	}
	defer tp.Close() // vmm boot gets its own copy
	if err := n.AttachTap(name); err != nil {
		undo()
		return nil, nil, err
	}
	f, err := tp.File()
	if err != nil {
		undo()
		return nil, nil, err
	}
	return &vmrun.Net{Tap: f, Addr: addr, Gateway: n.Gateway()}, func() { f.Close(); undo() }, nil
}
