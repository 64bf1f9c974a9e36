package machine

import (
	"fmt"
	"sync"

	"github.com/vmmlab/vmm/kvm"
)

// exitKey names what caused an exit to vmm: the reason, and for port and
// MMIO accesses the address (MMIO rounded down to its 4 KiB page).
type exitKey struct {
	reason kvm.ExitReason
	addr   uint64
}

// exitCounts counts the exits that reached vmm, by cause; vCPUs add to it
// concurrently. It costs a map update per exit, small beside the exit.
type exitCounts struct {
	mu sync.Mutex
	n  map[exitKey]uint64
}

func (c *exitCounts) add(e kvm.Exit) {
	k := exitKey{reason: e.Reason}
	switch e.Reason {
	case kvm.ExitIO:
		k.addr = uint64(e.IO.Port)
	case kvm.ExitMMIO:
		k.addr = e.MMIO.Addr &^ 0xfff
	}
	c.mu.Lock()
	if c.n == nil {
		c.n = map[exitKey]uint64{}
	}
	c.n[k]++
	c.mu.Unlock()
}

// snapshot names each cause: "io 0x3f8", "mmio 0xd0000000", or the
// reason alone.
func (c *exitCounts) snapshot() map[string]uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]uint64, len(c.n))
	for k, v := range c.n {
		name := k.reason.String()
		switch k.reason {
		case kvm.ExitIO:
			name = fmt.Sprintf("io %#x", k.addr)
		case kvm.ExitMMIO:
			name = fmt.Sprintf("mmio %#x", k.addr)
		}
		out[name] += v
	}
	return out
}
