package confine

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

const childEnv = "VMM_CONFINE_TEST_CHILD"

// The filter keeps the Go runtime working (threads, GC, timers, the
// poller) and the calls vmm makes, and kills the process for anything
// else: here opening a file.
func TestFilterAllowsTheRuntimeAndKillsTheRest(t *testing.T) {
	if mode := os.Getenv(childEnv); mode != "" {
		confinedChild(mode)
		return
	}
	for _, c := range []struct {
		mode    string
		killed  bool
		printed string
		syscall string // the refused call the audit log names
	}{
		{"allowed", false, "CHILD-ALLOWED-OK", ""},
		{"open", true, "CHILD-BEFORE-OPEN", "openat"},
		{"fork", true, "CHILD-BEFORE-FORK", ""},
		{"exec-memory", true, "CHILD-BEFORE-MMAP", "mmap"},
		{"unix-sockets", false, "CHILD-UNIX-OK", ""},
		{"inet-socket", true, "CHILD-BEFORE-INET", ""},
		// The control API alone accepts on its listener and makes no
		// socket of its own.
		{"api-accept", false, "CHILD-ACCEPT-OK", ""},
		{"api-socket", true, "CHILD-BEFORE-SOCKET", "socket"},
		{"api-accept-elsewhere", true, "CHILD-BEFORE-ACCEPT", "accept4"},
	} {
		if !c.killed && raceEnabled {
			t.Logf("%s: not checked under -race: the race detector's own system calls are not vmm's", c.mode)
			continue
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestFilterAllowsTheRuntimeAndKillsTheRest$", "-test.count=1")
		cmd.Env = append(os.Environ(), childEnv+"="+c.mode)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		sig := syscall.Signal(0)
		if errors.As(err, &ee) {
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				sig = ws.Signal()
			}
		}
		if !strings.Contains(string(out), c.printed) {
			if strings.Contains(string(out), "seccomp unavailable") {
				t.Skip("this kernel has no seccomp filters")
			}
			t.Errorf("%s: output lacks %s:\n%s", c.mode, c.printed, out)
		}
		if c.killed && sig != syscall.SIGSYS {
			t.Errorf("%s: child ended with %v (signal %v), want death by SIGSYS:\n%s", c.mode, err, sig, out)
		}
		if c.killed && c.syscall != "" {
			if nr, ok := auditedSyscall(cmd.Process.Pid); ok {
				if name := syscallNames()[nr]; name != c.syscall {
					t.Errorf("%s: the audit log names syscall %d (%s), want %s", c.mode, nr, name, c.syscall)
				} else {
					t.Logf("%s: killed by SIGSYS; the kernel's audit log names the refused call: %s (%d)", c.mode, name, nr)
				}
			} else {
				t.Logf("%s: no audit line readable here (dmesg)", c.mode)
			}
		}
		if !c.killed && err != nil {
			t.Errorf("%s: the confined child failed: %v\n%s", c.mode, err, out)
		}
	}
}

func confinedChild(mode string) {
	f, _ := os.CreateTemp("", "confine-*")
	defer os.Remove(f.Name())
	sockets := mode == "unix-sockets" || mode == "inet-socket"
	api := strings.HasPrefix(mode, "api-")
	// The listener is made before the filter, as vmm makes its vsock
	// listener. Raw system calls, not package net: importing net links a
	// cgo test binary against glibc, whose own calls (malloc opening
	// /proc files in a new thread) are not vmm's.
	addr := &unix.SockaddrUnix{Name: f.Name() + ".sock"}
	ln := -1
	if sockets || api {
		defer os.Remove(addr.Name)
		ln, _ = unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		unix.Bind(ln, addr)
		unix.Listen(ln, 1)
	}
	var client, other int
	if api { // a client connects before the filter; a second listener the API does not own
		client, _ = unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		unix.Connect(client, addr)
		other, _ = unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	}
	needs := Needs{UnixSockets: sockets}
	if api {
		needs = Needs{Listener: ln, SnapshotFiles: true}
	}
	if err := Install(needs); err != nil {
		fmt.Println("seccomp unavailable:", err)
		os.Exit(0)
	}
	switch mode {
	case "allowed":
		var wg sync.WaitGroup
		for i := 0; i < 16; i++ { // new threads: clone under the filter
			wg.Add(1)
			go func() {
				defer wg.Done()
				runtime.LockOSThread()
				b := make([]byte, 1<<20)
				f.WriteAt(b[:4096], int64(i)*4096)
				f.ReadAt(b[:4096], 0)
				f.Sync()
				time.Sleep(time.Millisecond)
			}()
		}
		wg.Wait()
		runtime.GC()
		unix.IoctlGetTermios(int(os.Stdin.Fd()), unix.TCGETS) // an allowed ioctl (the error does not matter)
		fmt.Println("CHILD-ALLOWED-OK")
		os.Exit(0)
	case "open":
		fmt.Println("CHILD-BEFORE-OPEN")
		os.Open("/etc/hostname")
	case "fork":
		fmt.Println("CHILD-BEFORE-FORK")
		exec.Command("/bin/true").Run()
	case "unix-sockets": // the calls Go's net makes for virtio-vsock's host side: connect out, accept in
		c, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		if err == nil {
			err = unix.Connect(c, addr)
		}
		if err == nil {
			unix.GetsockoptInt(c, unix.SOL_SOCKET, unix.SO_ERROR)
			unix.Getsockname(c)
			unix.Getpeername(c)
			_, err = unix.Write(c, []byte("x"))
		}
		if err == nil {
			err = unix.Shutdown(c, unix.SHUT_WR)
		}
		a, _, aerr := unix.Accept4(ln, unix.SOCK_CLOEXEC)
		b := make([]byte, 1)
		if err != nil || aerr != nil {
			fmt.Println("unix sockets:", err, aerr)
			os.Exit(1)
		}
		if n, err := unix.Read(a, b); n != 1 || b[0] != 'x' {
			fmt.Println("read:", n, err)
			os.Exit(1)
		}
		fmt.Println("CHILD-UNIX-OK")
		os.Exit(0)
	case "api-accept":
		a, _, err := unix.Accept4(ln, unix.SOCK_CLOEXEC)
		if err == nil {
			unix.Getsockname(a)
			_, err = unix.Write(client, []byte("x"))
		}
		if err != nil {
			fmt.Println("accept on the API's listener:", err)
			os.Exit(1)
		}
		fmt.Println("CHILD-ACCEPT-OK")
		os.Exit(0)
	case "api-socket":
		fmt.Println("CHILD-BEFORE-SOCKET")
		unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	case "api-accept-elsewhere":
		fmt.Println("CHILD-BEFORE-ACCEPT")
		unix.Accept4(other, unix.SOCK_CLOEXEC)
	case "inet-socket":
		fmt.Println("CHILD-BEFORE-INET")
		unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	case "exec-memory":
		fmt.Println("CHILD-BEFORE-MMAP")
		unix.Mmap(-1, 0, 4096, unix.PROT_READ|unix.PROT_EXEC, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	}
	fmt.Println("CHILD-SURVIVED")
	os.Exit(3)
}

// As root: the child drops to nobody in an empty chroot and keeps no
// capability; a non-empty or writable chroot is refused.
func TestDropPrivileges(t *testing.T) {
	if os.Getenv(childEnv) == "drop" {
		root := os.Getenv(childEnv + "_ROOT")
		if err := Drop(Identity{UID: 65534, GID: 65534, Chroot: root}); err != nil {
			fmt.Println("DROP-ERROR", err)
			os.Exit(1)
		}
		_, statErr := os.Stat("/etc") // gone: the root is the empty directory
		var caps unix.CapUserHeader
		caps.Version = unix.LINUX_CAPABILITY_VERSION_3
		var data [2]unix.CapUserData
		unix.Capget(&caps, &data[0])
		fmt.Printf("DROPPED uid=%d gid=%d etc=%v caps=%#x\n", os.Getuid(), os.Getgid(), statErr == nil, data[0].Effective|data[0].Permitted)
		os.Exit(0)
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to drop privileges")
	}
	bad := t.TempDir()
	os.WriteFile(bad+"/x", nil, 0o644)
	if err := Drop(Identity{UID: 65534, GID: 65534, Chroot: bad}); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("a non-empty chroot: %v", err)
	}
	root := t.TempDir()
	os.Chmod(root, 0o755)
	cmd := exec.Command(os.Args[0], "-test.run=^TestDropPrivileges$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"=drop", childEnv+"_ROOT="+root)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "DROPPED uid=65534 gid=65534 etc=false caps=0x0") {
		t.Errorf("child: %v\n%s", err, out)
	}
}

// auditedSyscall finds the kernel's seccomp audit line for pid (type=1326,
// "syscall=NNN") in dmesg.
func auditedSyscall(pid int) (int, bool) {
	out, err := exec.Command("dmesg").Output()
	if err != nil {
		return 0, false
	}
	for _, l := range strings.Split(string(out), "\n") {
		if !strings.Contains(l, "type=1326") || !strings.Contains(l, fmt.Sprintf(" pid=%d ", pid)) {
			continue
		}
		var nr int
		if i := strings.Index(l, " syscall="); i >= 0 {
			if _, err := fmt.Sscanf(l[i:], " syscall=%d", &nr); err == nil {
				return nr, true
			}
		}
	}
	return 0, false
}

func syscallNames() map[int]string {
	return map[int]string{unix.SYS_OPENAT: "openat", unix.SYS_MMAP: "mmap", unix.SYS_CLONE: "clone", unix.SYS_EXECVE: "execve",
		unix.SYS_SOCKET: "socket", unix.SYS_ACCEPT4: "accept4"}
}

// An identity is all or nothing: both ids, and a chroot only with them.
func TestIdentityCheck(t *testing.T) {
	for _, c := range []struct {
		id   Identity
		want string
	}{
		{Identity{UID: -1, GID: -1}, ""},
		{Identity{UID: 1000, GID: 1000}, ""},
		{Identity{UID: 1000, GID: 1000, Chroot: "/var/empty"}, ""},
		{Identity{UID: 1000, GID: -1}, "--uid needs --gid"},
		{Identity{UID: -1, GID: 1000}, "--gid needs --uid"},
		{Identity{UID: -1, GID: -1, Chroot: "/var/empty"}, "--chroot needs --uid and --gid"},
	} {
		err := c.id.Check()
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%+v: %v, want %q", c.id, err, c.want)
		}
	}
}
