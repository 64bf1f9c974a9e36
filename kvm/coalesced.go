package kvm

import (
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// Coalesced writes (KVM_REGISTER_COALESCED_MMIO): for a registered port
// or MMIO range, KVM does not exit on a guest's write but appends it to a
// ring in a page the VMM maps, and goes on running the guest. The VMM
// must apply the queued writes, in order, before it serves any access
// that could observe them. A full ring makes KVM exit for the write as
// usual, so no write is lost.

// Capabilities for coalesced writes. KVM_CHECK_EXTENSION of
// CapCoalescedMMIO answers the ring's page offset in a vCPU's mapping.
const (
	CapCoalescedMMIO Cap = 15
	CapCoalescedPIO  Cap = 162
)

const (
	sizeCoalescedZone        = 16
	reqRegisterCoalescedMMIO = (iocWrite)<<30 | sizeCoalescedZone<<16 | kvmio<<8 | 0x67

	ringPage   = 4096
	ringHeader = 8  // struct kvm_coalesced_mmio_ring: u32 first, u32 last
	ringEntry  = 24 // struct kvm_coalesced_mmio: u64 addr, u32 len, u32 pio, u8 data[8]
	// RingEntries is KVM_COALESCED_MMIO_MAX: the entries one page holds.
	RingEntries = (ringPage - ringHeader) / ringEntry
)

// coalescedZone is struct kvm_coalesced_mmio_zone.
type coalescedZone struct {
	Addr uint64
	Size uint32
	PIO  uint32
}

// CoalescePortWrites asks KVM to queue the guest's writes to ports
// [port, port+size) in the coalesced ring instead of exiting for each.
// Reads of those ports still exit. errors.ErrUnsupported (wrapped) when
// this KVM cannot.
func (vm *VM) CoalescePortWrites(port uint64, size uint32) error {
	for _, c := range []Cap{CapCoalescedMMIO, CapCoalescedPIO} {
		if v, err := vm.CheckExtension(c); err != nil {
			return err
		} else if v <= 0 {
			return fmt.Errorf("coalesced port writes: capability %d: %w", c, errors.ErrUnsupported)
		}
	}
	z := coalescedZone{Addr: port, Size: size, PIO: 1}
	if _, err := ioctlPtr(vm.fd, reqRegisterCoalescedMMIO, &z); err != nil {
		return fmt.Errorf("KVM_REGISTER_COALESCED_MMIO ports %#x+%d: %w", port, size, err)
	}
	return nil
}

// CoalescedRing is the ring of writes KVM queued. One ring serves the
// whole VM; Drain must not run on two goroutines at once.
type CoalescedRing struct {
	page  []byte
	unmap func([]byte) error
}

// CoalescedRing maps the VM's ring page through vCPU c (every vCPU's
// mapping shows the same page). Close unmaps it.
func (vm *VM) CoalescedRing(c *VCPU) (*CoalescedRing, error) {
	off, err := vm.CheckExtension(CapCoalescedMMIO)
	if err != nil {
		return nil, err
	}
	if off <= 0 {
		return nil, fmt.Errorf("coalesced ring: %w", errors.ErrUnsupported)
	}
	page, err := unix.Mmap(c.fd, int64(off)*ringPage, ringPage, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mmap the coalesced ring (page %d of vCPU %d): %w", off, c.id, err)
	}
	return &CoalescedRing{page: page, unmap: unix.Munmap}, nil
}

// Close unmaps the ring page.
func (r *CoalescedRing) Close() error {
	if r.page == nil {
		return nil
	}
	err := r.unmap(r.page)
	r.page = nil
	return err
}

// CoalescedWrite is one queued write. Data is valid only during the call
// that receives it.
type CoalescedWrite struct {
	Addr uint64 // the port (PIO) or guest-physical address
	PIO  bool
	Data []byte
}

// Drain applies every queued write to apply, oldest first, freeing each
// entry after it is applied, and returns how many there were. It reads
// only the ring's two indices when the ring is empty. The kernel writes
// the ring, but a ring that makes no sense (an index past the end, a
// length over 8) is not trusted: Drain stops at a bad index and clips a
// bad length.
func (r *CoalescedRing) Drain(apply func(CoalescedWrite)) int {
	var buf [8]byte
	n := 0
	for {
		// last is read before the entry it covers (the kernel writes the
		// entry, then last, with a write barrier between them).
		first, last := loadRingIndex(r.page, 0), loadRingIndex(r.page, 4)
		if first == last || first >= RingEntries || last >= RingEntries {
			return n
		}
		e := r.page[ringHeader+int(first)*ringEntry:][:ringEntry]
		size := min(binary.LittleEndian.Uint32(e[8:12]), 8)
		copy(buf[:], e[16:24])
		apply(CoalescedWrite{Addr: binary.LittleEndian.Uint64(e[0:8]), PIO: binary.LittleEndian.Uint32(e[12:16]) != 0, Data: buf[:size]})
		storeRingIndex(r.page, 0, (first+1)%RingEntries)
		n++
	}
}
