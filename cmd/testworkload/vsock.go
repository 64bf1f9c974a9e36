package main

import (
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Ports of the vsock exchange: the guest listens on vsockGuestPort, and
// connects to the host (CID 2) on vsockHostPort.
const (
	vsockGuestPort = 1234
	vsockHostPort  = 5678
)

// vsockExchange checks AF_VSOCK both ways with checksums. First it
// listens on port 1234 and serves one host connection: it reads to EOF
// and answers with the SHA-256 of what it read. Then it connects to the
// host's port 5678, sends n bytes (at most 8 MiB), shuts its sending side and expects
// the host to answer with their SHA-256.
func vsockExchange(arg string) error {
	n, err := strconv.Atoi(arg)
	if err != nil || n < 0 {
		return fmt.Errorf("vsock %q: want a byte count", arg)
	}
	ln, err := unix.Socket(unix.AF_VSOCK, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("vsock socket: %w", err)
	}
	if err := unix.Bind(ln, &unix.SockaddrVM{CID: unix.VMADDR_CID_ANY, Port: vsockGuestPort}); err != nil {
		return fmt.Errorf("vsock bind: %w", err)
	}
	if err := unix.Listen(ln, 1); err != nil {
		return fmt.Errorf("vsock listen: %w", err)
	}
	fmt.Printf("VSOCK-LISTENING port=%d\n", vsockGuestPort)
	fd, _, err := unix.Accept4(ln, unix.SOCK_CLOEXEC)
	if err != nil {
		return fmt.Errorf("vsock accept: %w", err)
	}
	in := os.NewFile(uintptr(fd), "vsock-in")
	h := sha256.New()
	got, err := io.Copy(h, in)
	if err != nil {
		return fmt.Errorf("vsock read: %w", err)
	}
	sum := fmt.Sprintf("%x", h.Sum(nil))
	fmt.Fprintf(in, "%s\n", sum)
	in.Close()
	unix.Close(ln)
	fmt.Printf("VSOCK-IN bytes=%d sha=%s\n", got, sum)

	s, err := unix.Socket(unix.AF_VSOCK, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("vsock socket: %w", err)
	}
	if err := unix.Connect(s, &unix.SockaddrVM{CID: unix.VMADDR_CID_HOST, Port: vsockHostPort}); err != nil {
		return fmt.Errorf("vsock connect to the host's port %d: %w", vsockHostPort, err)
	}
	out := os.NewFile(uintptr(s), "vsock-out")
	defer out.Close()
	h.Reset()
	data := pattern()[:min(n, dataSize)]
	n = len(data)
	h.Write(data)
	sum = fmt.Sprintf("%x", h.Sum(nil))
	if _, err := out.Write(data); err != nil {
		return fmt.Errorf("vsock write: %w", err)
	}
	if err := unix.Shutdown(s, unix.SHUT_WR); err != nil {
		return fmt.Errorf("vsock shutdown: %w", err)
	}
	reply, err := io.ReadAll(out)
	if err != nil {
		return fmt.Errorf("vsock read the host's answer: %w", err)
	}
	if strings.TrimSpace(string(reply)) != sum {
		return fmt.Errorf("vsock: the host read SHA-256 %q of the %d bytes sent, want %s", reply, n, sum)
	}
	fmt.Printf("VSOCK-OUT bytes=%d sha=%s\n", n, sum)
	return nil
}
