package machine

import (
	"fmt"

	"github.com/vmmlab/vmm/boot"
	"github.com/vmmlab/vmm/devices/virtio"
	"github.com/vmmlab/vmm/devices/virtio/pmem"
	"github.com/vmmlab/vmm/kvm"
	"github.com/vmmlab/vmm/memory"
)

// Pmem is a host file given to the guest as a virtio-pmem window: guest
// physical memory backed by the file's shared pages, which a guest
// mounts with DAX (no guest page cache copy).
type Pmem struct {
	Path     string
	ReadOnly bool
}

// pmemAlign is where each window starts: a 1 GiB boundary above RAM (the
// guest hot-plugs the window's memory map in sections; a 1 GiB boundary
// suits every section size and KVM's large pages).
const pmemAlign = 1 << 30

// pmemFirstSlot is the first KVM memory slot of the windows: guest RAM
// takes one slot per region below it (two at most, around the MMIO hole).
const pmemFirstSlot = 8

// firstPmemBase is where the first window goes for a machine with
// memSize bytes of RAM: above RAM and above 4 GiB, never in the MMIO hole.
func firstPmemBase(memSize uint64) uint64 {
	ram := boot.RAMRanges(memSize)
	return alignUp(max(ram[len(ram)-1].End(), 1<<32), pmemAlign)
}

func alignUp(v, to uint64) uint64 { return (v + to - 1) / to * to }

// openPmem maps p's file, gives KVM the window at the next free place
// above RAM (read-only in KVM too for a read-only pmem) and makes the
// virtio-pmem device that tells the guest where it is.
func (m *Machine) openPmem(p Pmem) (virtio.Device, func() error, error) {
	w, err := memory.OpenWindow(p.Path, p.ReadOnly)
	if err != nil {
		return nil, nil, fmt.Errorf("--pmem %w", err)
	}
	if m.pmemNext == 0 {
		m.pmemNext = firstPmemBase(m.cfg.MemSize)
	}
	base, slot := m.pmemNext, uint32(pmemFirstSlot+m.pmemWindows)
	var flags uint32
	if p.ReadOnly {
		flags = kvm.MemReadonly
	}
	if err := m.vm.SetUserMemoryRegion(kvm.MemoryRegion{Slot: slot, Flags: flags, GuestPhys: base, Memory: w.Data}); err != nil {
		w.Close()
		return nil, nil, fmt.Errorf("--pmem %s: %w", p.Path, err)
	}
	m.pmemWindows++
	m.pmemNext = alignUp(base+w.Size(), pmemAlign)
	mode := "read-write, flushed to the file on the guest's request"
	if p.ReadOnly {
		mode = "read-only (a guest write exits to vmm and is dropped)"
	}
	m.note("virtio-pmem maps %s at guest-physical %#x-%#x (KVM slot %d), %s: the guest reads the host's page cache of the file.",
		p.Path, base, base+w.Size()-1, slot, mode)
	return pmem.New(base, w.Size(), w.Flush), w.Close, nil
}
