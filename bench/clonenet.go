package bench

import (
	"fmt"
	"net/netip"

	"github.com/vmmlab/vmm/internal/tapns"
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

// cloneTap is the tap's name: alone in its namespace, it needs no other.
const cloneTap = "vclone0"

// newCloneNet makes one clone's namespace and tap.
func newCloneNet() (*tapns.Net, error) {
	n, err := tapns.New(cloneTap, cloneGateway)
	if err != nil {
		return nil, fmt.Errorf("clone network: %w", err)
	}
	return n, nil
}
