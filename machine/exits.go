package machine

import (
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/vmmlab/vmm/kvm"
)

// exitKey names what caused an exit to vmm: the reason, and for port and
// MMIO accesses the address (MMIO rounded down to its 4 KiB page), or
// otherAddrs once maxAddrKeys addresses of that reason are counted.
type exitKey struct {
	reason kvm.ExitReason
	addr   uint64
}

// maxAddrKeys bounds the ports, and the MMIO pages, counted one by one:
// the guest picks the addresses, and a guest that touches a new page on
// every access would otherwise grow vmm's heap (and every status it
// reports) without end. The rest are counted together.
const maxAddrKeys = 64

// otherAddrs is the address of the key that counts the rest.
const otherAddrs = ^uint64(0)

// exitCounts counts the exits that reached vmm, by cause, with the time
// vmm took to handle them; vCPUs add to it concurrently. It costs a map
// update and two clock reads per exit, small beside the exit.
type exitCounts struct {
	mu        sync.Mutex
	n         map[exitKey]*exitTally
	addressed map[kvm.ExitReason]int // keys with an address, by reason
}

type exitTally struct {
	n uint64
	d time.Duration
}

// keyOf is the cause of exit e.
func keyOf(e kvm.Exit) exitKey {
	k := exitKey{reason: e.Reason}
	switch e.Reason {
	case kvm.ExitIO:
		k.addr = uint64(e.IO.Port)
	case kvm.ExitMMIO:
		k.addr = e.MMIO.Addr &^ 0xfff
	}
	return k
}

func (c *exitCounts) add(e kvm.Exit, d time.Duration) {
	k := keyOf(e)
	c.mu.Lock()
	if c.n == nil {
		c.n, c.addressed = map[exitKey]*exitTally{}, map[kvm.ExitReason]int{}
	}
	t := c.n[k]
	if t == nil {
		t = c.newTally(k)
	}
	t.n++
	t.d += d
	c.mu.Unlock()
}

// newTally starts counting cause k, or the rest of k's reason when
// maxAddrKeys of its addresses are counted already. The caller holds
// c.mu.
func (c *exitCounts) newTally(k exitKey) *exitTally {
	if k.reason == kvm.ExitIO || k.reason == kvm.ExitMMIO {
		if c.addressed[k.reason] >= maxAddrKeys {
			k.addr = otherAddrs
			if t := c.n[k]; t != nil {
				return t
			}
		} else {
			c.addressed[k.reason]++
		}
	}
	t := &exitTally{}
	c.n[k] = t
	return t
}

// snapshot names each cause: "io 0x3f8", "mmio 0xd0000000", or the
// reason alone.
func (c *exitCounts) snapshot() map[string]uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]uint64, len(c.n))
	for k, v := range c.n {
		out[k.String()] += v.n
	}
	return out
}

func (k exitKey) String() string {
	switch {
	case k.addr == otherAddrs && k.reason == kvm.ExitIO:
		return "io other"
	case k.addr == otherAddrs && k.reason == kvm.ExitMMIO:
		return "mmio other"
	}
	switch k.reason {
	case kvm.ExitIO:
		return fmt.Sprintf("io %#x", k.addr)
	case kvm.ExitMMIO:
		return fmt.Sprintf("mmio %#x", k.addr)
	}
	return k.reason.String()
}

// ExitStat is one cause of exits to vmm: how many, and how long vmm took
// to handle them (from KVM_RUN's return to the next call).
type ExitStat struct {
	Cause  string // "io 0x3f8", "mmio 0xd0000000", "KVM_EXIT_HLT"
	Device string // the device at that port or address, if any
	Count  uint64
	Total  time.Duration
}

// ExitStats lists the causes of exits to vmm so far, most frequent
// first, each with the device behind its port or MMIO page.
func (m *Machine) ExitStats() []ExitStat {
	m.exits.mu.Lock()
	var out []ExitStat
	for k, v := range m.exits.n {
		s := ExitStat{Cause: k.String(), Count: v.n, Total: v.d}
		switch {
		case k.addr == otherAddrs:
		case k.reason == kvm.ExitIO:
			s.Device = m.pio.Name(k.addr)
		case k.reason == kvm.ExitMMIO:
			s.Device = m.mmio.Name(k.addr)
		}
		out = append(out, s)
	}
	m.exits.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Cause < out[j].Cause
	})
	return out
}
