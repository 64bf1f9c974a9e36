// Package confine owns what vmm does to itself once its machine is built,
// so that a guest that subverts vmm gains little: a seccomp filter that
// allows only the system calls a running VMM makes. Any other call (to
// open a file, create a socket, start a process, map executable memory,
// create a VM or map guest memory) kills the process with SIGSYS, and the
// kernel's audit log names it ("syscall=NNN"). A VM with virtio-vsock
// may also create, connect and accept unix stream sockets (no other
// family); one with the control API alone may accept on the API's
// listener and nothing else of sockets; one that can be snapshotted may
// open and create files.
//
// The rules live in confine/rules and are compiled by gVisor's seccomp
// package; `go generate ./confine` writes the result into program.go, so
// vmm installs a ready program and does not carry the compiler.
package confine

//go:generate go run ./gen program.go

import (
	"errors"
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
	// Listener is the descriptor of the control API's unix listener (0:
	// none). Without UnixSockets, accepting on it is the only socket call
	// allowed, and snapshots are (the API takes them).
	Listener int
}

// Install applies the filter of a running vmm, with what n needs, to
// every thread of the process (SECCOMP_FILTER_FLAG_TSYNC), and sets
// no_new_privs, which seccomp requires of an unprivileged process.
func Install(n Needs) error {
	switch {
	case n.UnixSockets && (n.SnapshotFiles || n.Listener > 0):
		return install(vmmAPIProgram())
	case n.UnixSockets:
		return install(vmmSocketsProgram())
	case n.Listener > 0:
		prog, err := acceptingOn(vmmAPIOnlyProgram(), n.Listener)
		if err != nil {
			return err
		}
		return install(prog)
	case n.SnapshotFiles:
		return install(vmmSnapshotProgram())
	}
	return install(vmmProgram())
}

// acceptingOn puts descriptor fd where prog compares accept4's first
// argument with rules.ListenerMark.
func acceptingOn(prog []unix.SockFilter, fd int) ([]unix.SockFilter, error) {
	out := append([]unix.SockFilter(nil), prog...)
	marks := 0
	for i := range out {
		if out[i].K == listenerMark {
			out[i].K, marks = uint32(fd), marks+1
		}
	}
	if marks == 0 {
		return nil, errors.New("seccomp: the API program does not name its listener")
	}
	return out, nil
}

// listenerMark is rules.ListenerMark (the rules package, with its
// compiler, stays out of vmm; a test checks they agree).
const listenerMark = 0x7ffec0de

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
