// Package unixsock owns how vmm makes the unix sockets it listens on
// (the control API's, virtio-vsock's): a socket an earlier vmm left is
// replaced, a live one or another kind of file never is, and the file
// stays when the listener closes, because removing it is a file system
// call the seccomp filter of a running vmm refuses.
package unixsock

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
)

// Listen listens on a unix stream socket at path; private makes it mode
// 0600 (only its owner may connect).
func Listen(path string, private bool) (*net.UnixListener, error) {
	if err := removeStale(path); err != nil {
		return nil, err
	}
	if private {
		old := syscall.Umask(0o177)
		defer syscall.Umask(old)
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, err
	}
	ln.SetUnlinkOnClose(false)
	return ln, nil
}

// removeStale removes a unix socket at path that nobody listens on.
func removeStale(path string) error {
	st, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if st.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("%s exists and is not a socket", path)
	}
	c, err := net.Dial("unix", path)
	if err == nil {
		c.Close()
		return fmt.Errorf("%s is a live socket: another vmm (or program) listens on it", path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("%s: %w", path, err)
	}
	return os.Remove(path)
}

// FD is the descriptor of ln itself (not a duplicate, as File gives):
// what a seccomp filter that allows accepting on ln alone names.
func FD(ln *net.UnixListener) (int, error) {
	rc, err := ln.SyscallConn()
	if err != nil {
		return 0, err
	}
	fd := 0
	if err := rc.Control(func(s uintptr) { fd = int(s) }); err != nil {
		return 0, err
	}
	return fd, nil
}
