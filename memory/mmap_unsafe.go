package memory

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// hugePage is the x86 large page KVM can use in its nested page tables.
// It does so only where a host address and the guest address it backs are
// congruent modulo 2 MiB (and the host page is huge too): a mapping that
// starts at an arbitrary 4 KiB boundary makes KVM map every guest page
// with a 4 KiB entry, one nested page fault per 4 KiB the guest touches.
const hugePage = 2 << 20

// guestRAMName names guest RAM in /proc/PID/maps ("[anon:vmm-guest-ram]")
// on kernels with CONFIG_ANON_VMA_NAME, so that tools (and vmm bench) can
// tell it from the Go runtime's own anonymous memory.
const guestRAMName = "vmm-guest-ram"

// mapGuest maps size bytes of anonymous, lazily populated memory for the
// guest range starting at base, placed so that the host address is
// congruent to base modulo 2 MiB, with an inaccessible guard page on
// either side. It reserves 2 MiB and two pages more than asked and unmaps
// the slack beyond the guards.
//
// The guards do two jobs: an access that runs off either end of guest RAM
// faults instead of reaching the Go heap, and the kernel never merges the
// guest RAM mapping with a neighbouring anonymous one (the Go heap), so
// /proc/PID/smaps shows guest RAM and vmm's own memory apart.
func mapGuest(base, size uint64) ([]byte, error) {
	want := uintptr(base) & (hugePage - 1)
	whole := uintptr(size) + hugePage + 2*pageSize
	p, err := unix.MmapPtr(-1, 0, nil, whole, unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
	if err != nil {
		return nil, err
	}
	// start: the first address ≡ want (mod 2 MiB) at least a page into the
	// reservation; start-pageSize ≥ p and start+size+pageSize ≤ p+whole.
	head := pageSize + (want-uintptr(p)-pageSize)&(hugePage-1)
	start := unsafe.Add(p, head)
	lo := unsafe.Add(start, -pageSize)                // the lower guard page
	hi := unsafe.Add(start, uintptr(size))            // the upper guard page
	end := unsafe.Add(hi, pageSize)                   // just past the upper guard
	tail := whole - (head + uintptr(size) + pageSize) // bytes after the upper guard
	undo := func(err error) ([]byte, error) {
		unix.MunmapPtr(p, whole) // whatever part is still mapped
		return nil, fmt.Errorf("place guest memory mapping: %w", err)
	}
	if head > pageSize {
		if err := unix.MunmapPtr(p, head-pageSize); err != nil {
			return undo(err)
		}
	}
	if tail > 0 {
		if err := unix.MunmapPtr(end, tail); err != nil {
			return undo(err)
		}
	}
	// Both guard pages lie inside the reservation (see start above).
	if err := unix.Mprotect(unsafe.Slice((*byte)(lo), pageSize), unix.PROT_NONE); err != nil {
		return undo(err)
	}
	if err := unix.Mprotect(unsafe.Slice((*byte)(hi), pageSize), unix.PROT_NONE); err != nil {
		return undo(err)
	}
	// Best effort: kernels without CONFIG_ANON_VMA_NAME answer EINVAL and
	// the mapping stays "[anon]", kept apart by the guards all the same.
	name := []byte(guestRAMName + "\x00")
	unix.Syscall6(unix.SYS_PRCTL, unix.PR_SET_VMA, unix.PR_SET_VMA_ANON_NAME, uintptr(start), uintptr(size), uintptr(unsafe.Pointer(&name[0])), 0)
	// start..start+size is mapped read-write and stays mapped until
	// unmapGuest: the slice never reaches memory outside the mapping.
	return unsafe.Slice((*byte)(start), size), nil
}

// unmapGuest unmaps memory made by mapGuest, with its guard pages.
func unmapGuest(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	// b is the read-write part of one reservation made by mapGuest, which
	// keeps one guard page before and one after it mapped.
	start := unsafe.Pointer(unsafe.SliceData(b))
	return unix.MunmapPtr(unsafe.Add(start, -pageSize), uintptr(len(b))+2*pageSize)
}

// hostAddr is the host virtual address of the region's first byte.
func (r Region) hostAddr() uintptr {
	if len(r.Data) == 0 {
		return 0
	}
	return uintptr(unsafe.Pointer(unsafe.SliceData(r.Data)))
}

// mapFileOver replaces the pages of b, a mapping made by mapGuest, with a
// private copy-on-write mapping of fd from offset off (MAP_FIXED at the
// same address: placement and guard pages stay as mapGuest made them).
func mapFileOver(b []byte, fd int, off int64) error {
	// b is mapped read-write by mapGuest for len(b) bytes; MAP_FIXED
	// replaces exactly those pages and nothing outside them, so the slice
	// stays valid and no other mapping is touched.
	addr := unsafe.Pointer(unsafe.SliceData(b))
	_, err := unix.MmapPtr(fd, off, addr, uintptr(len(b)), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_FIXED|unix.MAP_NORESERVE)
	return err
}

// mincore fills vec (one byte per page of b) with the pages' residency:
// bit 0 set for a page the host backs.
func mincore(b, vec []byte) error {
	if len(b) == 0 {
		return nil
	}
	if len(vec) < (len(b)+pageSize-1)/pageSize {
		return fmt.Errorf("mincore: %d bytes of vector for %d bytes", len(vec), len(b))
	}
	// b is a live mapping and vec has a byte for each of its pages (checked
	// above): the kernel reads neither past b nor writes past vec.
	_, _, e := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)), uintptr(unsafe.Pointer(unsafe.SliceData(vec))))
	if e != 0 {
		return e
	}
	return nil
}
