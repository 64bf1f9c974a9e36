package confine

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// setFilter installs prog with seccomp(SECCOMP_SET_MODE_FILTER, TSYNC).
func setFilter(prog []unix.SockFilter) error {
	if len(prog) == 0 || len(prog) > 0xffff {
		return fmt.Errorf("a filter of %d instructions", len(prog))
	}
	// The kernel copies the program during the call and reads nothing
	// else: Filter points at len(prog) instructions that stay alive (and
	// unmoved: the slice is heap memory referenced here) until it returns.
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	tid, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER,
		unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&fprog)))
	if errno != 0 {
		return errno
	}
	if tid != 0 { // TSYNC: this thread could not be synchronised
		return fmt.Errorf("thread %d could not take the filter", tid)
	}
	return nil
}
