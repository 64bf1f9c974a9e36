package bench

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// mincore fills vec with one byte per page of the mapping m (bit 0: the
// page is resident). x/sys/unix has no wrapper.
func mincore(m, vec []byte) error {
	if len(m) == 0 {
		return nil
	}
	if page := unix.Getpagesize(); len(vec) < (len(m)+page-1)/page {
		return unix.EINVAL
	}
	// Safe: m is a live mapping of len(m) bytes that the caller unmaps
	// only after this returns, and vec holds at least one byte per page
	// of it (checked above); the kernel writes nothing else.
	_, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0])))
	if errno != 0 {
		return errno
	}
	return nil
}
