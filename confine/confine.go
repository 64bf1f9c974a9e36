// Package confine owns what vmm does to itself once its machine is built,
// so that a guest that subverts vmm gains little: a seccomp filter that
// allows only the system calls a running VMM makes. Any other call (to
// open a file, create a socket, start a process, map executable memory,
// create a VM or map guest memory) kills the process with SIGSYS, and the
// kernel's audit log names it ("syscall=NNN"). A VM with virtio-vsock
// or the control API may also create and accept unix stream sockets (no
// other family); one that can be snapshotted may open and create files.
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

// Needs says what a running vmm does beyond running its VM.
type Needs struct {
	// UnixSockets: connecting to and accepting host programs on unix
	// stream sockets (virtio-vsock, the control API); other sockets stay
	// refused.
	UnixSockets bool
	// SnapshotFiles: writing snapshots (a directory, its files, KVM's
	// state read out).
	SnapshotFiles bool
}

// Install applies the filter of a running vmm, with what n needs, to
// every thread of the process (SECCOMP_FILTER_FLAG_TSYNC), and sets
// no_new_privs, which seccomp requires of an unprivileged process.
func Install(n Needs) error {
	switch {
	case n.UnixSockets && n.SnapshotFiles:
		return install(vmmAPIProgram())
	case n.UnixSockets:
		return install(vmmSocketsProgram())
	case n.SnapshotFiles:
		return install(vmmSnapshotProgram())
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
