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

// mapGuest maps size bytes of anonymous, lazily populated memory for the
// guest range starting at base, placed so that the host address is
// congruent to base modulo 2 MiB. It maps 2 MiB more than asked and
// unmaps the slack before and after the aligned range.
func mapGuest(base, size uint64) ([]byte, error) {
	want := uintptr(base) & (hugePage - 1)
	whole := uintptr(size) + hugePage
	p, err := unix.MmapPtr(-1, 0, nil, whole, unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
	if err != nil {
		return nil, err
	}
	// head: bytes from p up to the first address ≡ want (mod 2 MiB).
	head := (want - uintptr(p)) & (hugePage - 1)
	start := unsafe.Add(p, head) // inside the mapping: head < 2 MiB < whole
	if head > 0 {
		if err := unix.MunmapPtr(p, head); err != nil {
			unix.MunmapPtr(p, whole)
			return nil, fmt.Errorf("trim guest memory mapping: %w", err)
		}
	}
	if tail := whole - head - uintptr(size); tail > 0 {
		if err := unix.MunmapPtr(unsafe.Add(start, size), tail); err != nil {
			unix.MunmapPtr(start, uintptr(size)+tail)
			return nil, fmt.Errorf("trim guest memory mapping: %w", err)
		}
	}
	// start..start+size is mapped read-write and stays mapped until
	// unmapGuest: the slice never reaches memory outside the mapping.
	return unsafe.Slice((*byte)(start), size), nil
}

// unmapGuest unmaps memory made by mapGuest.
func unmapGuest(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	// b is exactly one mapping made by mapGuest (its start and length).
	return unix.MunmapPtr(unsafe.Pointer(unsafe.SliceData(b)), uintptr(len(b)))
}

// hostAddr is the host virtual address of the region's first byte.
func (r Region) hostAddr() uintptr {
	if len(r.Data) == 0 {
		return 0
	}
	return uintptr(unsafe.Pointer(unsafe.SliceData(r.Data)))
}
