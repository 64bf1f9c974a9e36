// Package confine owns what vmm does to itself once its machine is built,
// so that a guest that subverts vmm gains little: a seccomp filter that
// allows only the system calls a running VMM makes. Any other call (to
// open a file, create a socket, start a process, map executable memory,
// create a VM or map guest memory) kills the process with SIGSYS, and the
// kernel's audit log names it ("syscall=NNN"). A VM with virtio-vsock
// may also create and accept unix stream sockets (no other family).
//
// The rules live in confine/rules and are compiled by gVisor's seccomp
// package; `go generate ./confine` writes the result into program.go, so
// vmm installs a ready program and does not carry the compiler.
package confine

//go:generate go run ./gen program.go

import (
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// Install applies the filter of a running vmm to every thread of the
// process (SECCOMP_FILTER_FLAG_TSYNC), and sets no_new_privs, which
// seccomp requires of an unprivileged process. unixSockets allows unix
// stream sockets too, for a VM with virtio-vsock (connecting to and
// accepting host programs); other sockets stay refused.
func Install(unixSockets bool) error {
	if unixSockets {
		return install(vmmSocketsProgram())
	}
	return install(vmmProgram())
}

func install(prog []unix.SockFilter) error {
	// no_new_privs is per thread until the filter's TSYNC spreads it:
	// both calls must come from one thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("seccomp: no_new_privs: %w", err)
	}
	if err := setFilter(prog); err != nil {
		return fmt.Errorf("seccomp: %w", err)
	}
	return nil
}
