package virtiopci

import (
	"fmt"

	"github.com/vmmlab/vmm/devices/virtio"
)

// MSIXEntry is one MSI-X table entry in a snapshot.
type MSIXEntry struct {
	Addr            uint64
	Data            uint32
	Masked, Pending bool
}

// State is what the PCI transport keeps beyond virtio.Core's state: its
// configuration space (the guest's writable bits: command register,
// interrupt line, MSI-X control) and the MSI-X table.
type State struct {
	Config       [256]byte
	ConfigVector uint16
	Table        []MSIXEntry
}

// Quiesce stops the device's goroutines for a snapshot; Restart starts
// them again where they stopped.
func (t *Transport) Quiesce() { t.core.Quiesce() }

// Restart: see Quiesce.
func (t *Transport) Restart() error { return t.core.Restart() }

// State is the core's state for a snapshot; PCIState is the rest.
func (t *Transport) State() virtio.CoreState { return t.core.State() }

// PCIState reads the transport's own state.
func (t *Transport) PCIState() State {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := State{ConfigVector: t.configVector}
	copy(s.Config[:], t.cfg.Bytes())
	for _, e := range t.table {
		s.Table = append(s.Table, MSIXEntry{Addr: e.addr, Data: e.data, Masked: e.masked, Pending: e.pending})
	}
	return s
}

// Restore puts a snapshot's state into a fresh transport: configuration
// space through the write masks (only what the guest could have written
// changes; BARs stay where vmm placed them), the MSI-X table, then the
// core, which activates a live device. INTx follows the restored ISR.
func (t *Transport) Restore(core virtio.CoreState, s State) error {
	t.mu.Lock()
	if len(s.Table) != len(t.table) {
		t.mu.Unlock()
		return fmt.Errorf("snapshot has %d MSI-X vectors, the device %d", len(s.Table), len(t.table))
	}
	t.cfg.Write(0, s.Config[:])
	t.configVector = s.ConfigVector
	for i, e := range s.Table {
		t.table[i] = msixEntry{addr: e.Addr, data: e.Data, masked: e.Masked, pending: e.Pending}
	}
	t.mu.Unlock()
	if err := t.core.Restore(core, interrupts{t}); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.updateINTxLocked()
}
