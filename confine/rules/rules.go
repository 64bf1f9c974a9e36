// Package rules holds vmm's seccomp rules and compiles them to BPF with
// gVisor's seccomp package (the rule compiler gVisor's own sandbox uses).
// It runs at build time: `go generate ./confine` writes the program into
// package confine, so the vmm binary, which every VM maps, does not carry
// the compiler (half a megabyte). A test checks that the program there is
// what these rules compile to.
package rules

import (
	"bytes"
	"fmt"
	"go/format"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
	"gvisor.dev/gvisor/pkg/bpf"
	"gvisor.dev/gvisor/pkg/seccomp"

	"github.com/vmmlab/vmm/kvm"
)

// Policy is what a running vmm needs beyond the Go runtime's basics.
type Policy struct {
	// Ioctls are the ioctl requests allowed, on any descriptor (KVM's
	// run-time requests, the tap's offload setting, the terminal's).
	Ioctls []uintptr
	// UnixSockets allows unix stream sockets: accepting on a listener vmm
	// holds and connecting out (virtio-vsock's host side, the control
	// API). No other socket family.
	UnixSockets bool
	// AcceptOnly allows accepting on one listener, the descriptor
	// ListenerMark stands for in the program (confine puts the real one
	// in), and nothing else of sockets: the control API alone creates and
	// connects no socket.
	AcceptOnly bool
	// SnapshotFiles allows what a snapshot does: make its directory,
	// create and size its files, and the ioctls that read KVM state.
	SnapshotFiles bool
}

// ListenerMark stands for the listener's descriptor in a program built
// with AcceptOnly: a value no descriptor has, which confine replaces
// with the listener's before it installs the program.
const ListenerMark = 0x7ffec0de

// newThread are the clone(2) flags of a new thread of this process (the
// Go runtime's clone, glibc's pthread_create): a clone without them, a new
// process, is refused.
const newThread = unix.CLONE_VM | unix.CLONE_THREAD

// Rules are the allowed system calls: the Go runtime's (memory without
// PROT_EXEC, threads, signals, futexes, the network poller, timers),
// reads and writes (console, disks with pread/pwrite/fsync/fallocate, tap
// frames, eventfds), and the policy's ioctls. Nothing opens a file,
// creates a socket, starts a process or maps executable memory.
func Rules(p Policy) seccomp.SyscallRules {
	noExec := seccomp.PerArg{seccomp.AnyValue{}, seccomp.AnyValue{}, seccomp.MaskedEqual(unix.PROT_EXEC, 0)}
	rules := map[uintptr]seccomp.SyscallRule{
		unix.SYS_MMAP:       noExec,
		unix.SYS_MPROTECT:   noExec,
		unix.SYS_CLONE:      seccomp.PerArg{seccomp.MaskedEqual(newThread, newThread)},
		unix.SYS_ARCH_PRCTL: seccomp.PerArg{seccomp.EqualTo(linux.ARCH_SET_FS)},
	}
	for _, nr := range []uintptr{
		// memory and the runtime
		unix.SYS_MUNMAP, unix.SYS_MADVISE, unix.SYS_BRK, unix.SYS_FUTEX, unix.SYS_SCHED_YIELD,
		unix.SYS_SCHED_GETAFFINITY, unix.SYS_GETRANDOM, unix.SYS_RESTART_SYSCALL,
		unix.SYS_GETRUSAGE, // the run's host page faults, in its result
		// threads and signals
		unix.SYS_RSEQ, unix.SYS_SET_ROBUST_LIST, // what glibc does for a new thread (cgo and race builds)
		unix.SYS_EXIT, unix.SYS_EXIT_GROUP, unix.SYS_GETPID, unix.SYS_GETTID, unix.SYS_TGKILL,
		unix.SYS_RT_SIGACTION, unix.SYS_RT_SIGPROCMASK, unix.SYS_RT_SIGRETURN, unix.SYS_SIGALTSTACK,
		// time
		unix.SYS_NANOSLEEP, unix.SYS_CLOCK_NANOSLEEP, unix.SYS_CLOCK_GETTIME, unix.SYS_GETTIMEOFDAY,
		// descriptors vmm already holds
		unix.SYS_READ, unix.SYS_WRITE, unix.SYS_READV, unix.SYS_WRITEV, unix.SYS_PREAD64, unix.SYS_PWRITE64,
		unix.SYS_PREADV, unix.SYS_PWRITEV, unix.SYS_CLOSE, unix.SYS_FSTAT, unix.SYS_NEWFSTATAT, unix.SYS_LSEEK,
		unix.SYS_FCNTL, unix.SYS_FSYNC, unix.SYS_FDATASYNC, unix.SYS_FALLOCATE,
		// the network poller (tap, the console)
		unix.SYS_EPOLL_CTL, unix.SYS_EPOLL_WAIT, unix.SYS_EPOLL_PWAIT, unix.SYS_EPOLL_PWAIT2, unix.SYS_EPOLL_CREATE1,
		unix.SYS_EVENTFD2, unix.SYS_PIPE2,
	} {
		rules[nr] = seccomp.MatchAll{}
	}
	if p.UnixSockets {
		rules[unix.SYS_SOCKET] = seccomp.PerArg{seccomp.EqualTo(unix.AF_UNIX)}
		for _, nr := range []uintptr{unix.SYS_CONNECT, unix.SYS_ACCEPT4, unix.SYS_SHUTDOWN, unix.SYS_GETSOCKNAME,
			unix.SYS_GETPEERNAME, unix.SYS_GETSOCKOPT, unix.SYS_SETSOCKOPT} {
			rules[nr] = seccomp.MatchAll{}
		}
	}
	if p.AcceptOnly && !p.UnixSockets {
		rules[unix.SYS_ACCEPT4] = seccomp.PerArg{seccomp.EqualTo(ListenerMark)}
		rules[unix.SYS_GETSOCKNAME] = seccomp.MatchAll{} // Go's net asks an accepted socket its address
	}
	if p.SnapshotFiles {
		for _, nr := range []uintptr{unix.SYS_OPENAT, unix.SYS_MKDIRAT, unix.SYS_FTRUNCATE, unix.SYS_GETDENTS64, unix.SYS_MINCORE,
			unix.SYS_LINKAT, unix.SYS_UNLINKAT} { // a working set: written aside, linked in
			rules[nr] = seccomp.MatchAll{}
		}
		p.Ioctls = append(append([]uintptr(nil), p.Ioctls...), kvm.SnapshotRequests()...)
	}
	var ioctls seccomp.Or
	for _, req := range p.Ioctls {
		ioctls = append(ioctls, seccomp.PerArg{seccomp.AnyValue{}, seccomp.EqualTo(req)})
	}
	if len(ioctls) > 0 {
		rules[unix.SYS_IOCTL] = ioctls
	}
	return seccomp.MakeSyscallRules(rules)
}

// VMM is the policy of a running vmm: KVM's run-time requests, the tap's
// offload setting (made when the guest's driver starts the NIC), and the
// terminal's settings (read, and restored at the end); with unixSockets,
// also unix stream sockets (virtio-vsock, the control API), with
// snapshotFiles what a snapshot needs.
func VMM(unixSockets, snapshotFiles bool) Policy {
	return Policy{Ioctls: append(kvm.RunTimeRequests(), unix.TUNSETOFFLOAD, unix.TCGETS, unix.TCSETS), UnixSockets: unixSockets, SnapshotFiles: snapshotFiles}
}

// API is the policy of a running vmm with the control API and no other
// socket: VMM with accepting on the API's listener and what a snapshot
// needs.
func API() Policy {
	p := VMM(false, true)
	p.AcceptOnly = true
	return p
}

// Build compiles Rules(p) into a filter whose default is to kill the
// process (SIGSYS); the kernel's audit log names the refused call.
func Build(p Policy) ([]bpf.Instruction, error) {
	// clone3 passes its flags in memory, where a filter cannot look: it
	// fails with ENOSYS, and glibc (a cgo or race-enabled build) falls back
	// to clone(2), whose flags the rules check. Go's own runtime uses clone.
	clone3 := seccomp.MakeSyscallRules(map[uintptr]seccomp.SyscallRule{unix.SYS_CLONE3: seccomp.MatchAll{}})
	prog := seccomp.Program{
		RuleSets: []seccomp.RuleSet{{Rules: Rules(p), Action: seccomp.Allow},
			{Rules: clone3, Action: seccomp.ReturnError.Code(uint16(unix.ENOSYS))}},
		Options: seccomp.ProgramOptions{DefaultAction: seccomp.KillProcess, BadArchAction: seccomp.KillProcess,
			HotSyscalls: []uintptr{unix.SYS_IOCTL, unix.SYS_FUTEX, unix.SYS_WRITE, unix.SYS_PREAD64, unix.SYS_EPOLL_PWAIT}},
	}
	instrs, _, err := prog.Build()
	if err != nil {
		return nil, fmt.Errorf("seccomp filter: %w", err)
	}
	return instrs, nil
}

// GoSource is package confine's program.go: the compiled VMM policies,
// without and with unix sockets.
func GoSource() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("// Code generated by go generate ./confine (confine/gen); DO NOT EDIT.\n\n")
	b.WriteString("package confine\n\nimport \"golang.org/x/sys/unix\"\n")
	for _, p := range []struct {
		name, doc string
		policy    Policy
	}{
		{"vmmProgram", "vmmProgram is the seccomp filter of a running vmm", VMM(false, false)},
		{"vmmSocketsProgram", "vmmSocketsProgram is vmmProgram with unix stream sockets (virtio-vsock)", VMM(true, false)},
		{"vmmSnapshotProgram", "vmmSnapshotProgram is vmmProgram with what a snapshot needs (--snapshot-on-ready)", VMM(false, true)},
		{"vmmAPIProgram", "vmmAPIProgram is vmmProgram with unix stream sockets and snapshots (the control API and virtio-vsock)", VMM(true, true)},
		{"vmmAPIOnlyProgram", "vmmAPIOnlyProgram is vmmProgram with accepting on the API's listener (ListenerMark) and snapshots (the control API alone)", API()},
	} {
		instrs, err := Build(p.policy)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&b, "\n// %s, compiled from\n// package confine/rules.\n", p.doc)
		fmt.Fprintf(&b, "func %s() []unix.SockFilter {\n\treturn []unix.SockFilter{\n", p.name)
		for _, in := range instrs {
			fmt.Fprintf(&b, "\t\t{Code: %#04x, Jt: %d, Jf: %d, K: %#x},\n", in.OpCode, in.JumpIfTrue, in.JumpIfFalse, in.K)
		}
		b.WriteString("\t}\n}\n")
	}
	return format.Source(b.Bytes())
}
