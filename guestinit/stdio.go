package guestinit

import (
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"golang.org/x/sys/unix"
)

// hostCID is the host's vsock address.
const hostCID = 2

// streams are an image process's stdin, stdout and stderr, and the
// control connection that brings it signals.
type streams struct {
	stdin, stdout, stderr *os.File
	control               *os.File // nil when the host offers none
	vsock                 []*os.File
}

// openStreams connects the process's streams to the host over vsock.
// Without a host listener (vmm boot started by hand), output goes to
// the console; input comes from the host only when it listens for it
// (vmm run -i), else from /dev/null.
func openStreams(con *os.File) *streams {
	s := &streams{stdout: con, stderr: con}
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		logf(con, "stdin: %v", err)
		devnull = nil
	}
	s.stdin = devnull
	if f, err := s.dial(PortStdout); err == nil {
		s.stdout = f
	} else {
		logf(con, "stdout on the console: %v", err)
	}
	if f, err := s.dial(PortStderr); err == nil {
		s.stderr = f
	} else {
		logf(con, "stderr on the console: %v", err)
	}
	if f, err := s.dial(PortStdin); err == nil {
		s.stdin = f
	}
	if f, err := s.dial(PortControl); err == nil {
		s.control = f
	}
	return s
}

// dial connects to the host's vsock port.
func (s *streams) dial(port uint32) (*os.File, error) {
	fd, err := unix.Socket(unix.AF_VSOCK, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("vsock: %w", err)
	}
	if err := unix.Connect(fd, &unix.SockaddrVM{CID: hostCID, Port: port}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("vsock port %d: %w", port, err)
	}
	f := os.NewFile(uintptr(fd), fmt.Sprintf("vsock:%d", port))
	s.vsock = append(s.vsock, f)
	return f, nil
}

// streamDrain bounds how long the init waits for the host to take the
// last of the process's output.
const streamDrain = 5 * time.Second

// close ends the streams in order: each output says it sends no more
// (shutdown of its write side) and waits until the host, having read
// everything, closes its end, so that no byte is lost when the VM
// powers off a moment later.
func (s *streams) close() {
	deadline := time.Now().Add(streamDrain)
	for _, f := range s.vsock {
		unix.Shutdown(int(f.Fd()), unix.SHUT_WR)
	}
	for _, f := range s.vsock {
		if f == s.stdout || f == s.stderr {
			waitEOF(f, deadline)
		}
		f.Close()
	}
	if s.stdin != nil && !slices.Contains(s.vsock, s.stdin) {
		s.stdin.Close()
	}
}

// waitEOF reads f until the host closes it or the deadline passes.
func waitEOF(f *os.File, deadline time.Time) {
	tv := unix.NsecToTimeval(max(time.Until(deadline), time.Millisecond).Nanoseconds())
	unix.SetsockoptTimeval(int(f.Fd()), unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	io.Copy(io.Discard, f)
}
