package machine

import (
	"errors"
	"sync"
	"sync/atomic"

	"github.com/vmmlab/vmm/kvm"
)

// coalescer applies the guest's writes that KVM queued instead of exiting
// for them: writes to the PCI address port (0xcf8). Linux reads a PCI
// configuration register as a write of its address to 0xcf8 followed by a
// read of 0xcfc, and a kernel that scans every bus for a device (the AMD
// GART probe of an AMD family-0Fh CPU, twice per boot) does that tens of
// thousands of times: queued, the write costs no exit, and the read that
// follows is the one exit left. QEMU queues the same port on its PCI
// hosts.
//
// Every exit applies the queue before vmm serves it, so a device never
// sees an access before a write the guest made earlier. Across vCPUs the
// guest orders its own accesses (Linux holds pci_config_lock over the
// pair), and the ring keeps KVM's order of the writes.
type coalescer struct {
	mu      sync.Mutex
	ring    *kvm.CoalescedRing // nil: KVM exits for every write
	applied atomic.Uint64
}

// coalescePCIAddress queues the guest's writes to the PCI address port.
// A KVM without coalesced port writes leaves every write an exit; that
// costs time only, so it is noted, not an error.
func (m *Machine) coalescePCIAddress() error {
	if err := m.vm.CoalescePortWrites(pciConfigPort, 4); errors.Is(err, errors.ErrUnsupported) {
		m.note("This KVM cannot queue port writes (KVM_CAP_COALESCED_PIO): each write to the PCI address port 0xcf8 is an exit.")
		return nil
	} else if err != nil {
		return err
	}
	ring, err := m.vm.CoalescedRing(m.cpus[0])
	if err != nil {
		return err
	}
	m.coalesced.ring = ring
	m.closers = append(m.closers, ring.Close)
	m.note("Writes to the PCI address port 0xcf8 are queued by KVM in a ring page instead of exiting (coalesced port I/O); vmm applies them, in order, before it serves the next exit, which is the read of 0xcfc that follows.")
	return nil
}

// applyCoalesced applies the queued writes to their devices.
func (m *Machine) applyCoalesced() {
	ring := m.coalesced.ring
	if ring == nil {
		return
	}
	m.coalesced.mu.Lock()
	n := ring.Drain(func(w kvm.CoalescedWrite) {
		if w.PIO {
			m.pio.Write(w.Addr, w.Data)
		} else {
			m.mmio.Write(w.Addr, w.Data)
		}
	})
	m.coalesced.mu.Unlock()
	if n > 0 {
		m.coalesced.applied.Add(uint64(n))
	}
}

// CoalescedWrites counts the guest's port writes applied from KVM's queue
// so far: writes that cost no exit.
func (m *Machine) CoalescedWrites() uint64 { return m.coalesced.applied.Load() }
