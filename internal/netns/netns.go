// Package netns creates Linux network namespaces and runs code inside
// them, each call on a fresh OS thread that joins the namespace and is
// thrown away afterwards (a thread's namespace cannot be trusted once
// changed). Sockets and processes created inside stay in the namespace;
// the rest of the program is not affected. Creating one needs root (or
// CAP_SYS_ADMIN); the lab and CI have it.
package netns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// NS is a network namespace, held open by a file descriptor.
type NS struct {
	f *os.File
}

// New creates an empty network namespace (only a down loopback).
func New() (*NS, error) {
	type result struct {
		f   *os.File
		err error
	}
	c := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			c <- result{err: fmt.Errorf("new network namespace: unshare: %w (needs root)", err)}
			return
		}
		f, err := os.Open("/proc/thread-self/ns/net")
		c <- result{f, err}
	}()
	r := <-c
	if r.err != nil {
		return nil, r.err
	}
	ns := &NS{f: r.f}
	if err := ns.Do(func() error { return SetUp("lo", netip.Prefix{}) }); err != nil {
		ns.Close()
		return nil, err
	}
	return ns, nil
}

// Do runs f on a new OS thread inside the namespace and returns its error.
// Whatever f starts there (sockets, child processes) lives in the
// namespace; goroutines f starts do not.
func (ns *NS) Do(f func() error) error {
	c := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: see the package comment
		if err := unix.Setns(int(ns.f.Fd()), unix.CLONE_NEWNET); err != nil {
			c <- fmt.Errorf("join network namespace: %w", err)
			return
		}
		c <- f()
	}()
	return <-c
}

// DialContext dials from inside the namespace; it fits
// http.Transport.DialContext.
func (ns *NS) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var conn net.Conn
	err := ns.Do(func() error {
		var err error
		conn, err = (&net.Dialer{}).DialContext(ctx, network, addr)
		return err
	})
	return conn, err
}

// Listen opens a listener inside the namespace (it serves from any
// goroutine).
func (ns *NS) Listen(network, addr string) (net.Listener, error) {
	var ln net.Listener
	err := ns.Do(func() error {
		var err error
		ln, err = net.Listen(network, addr)
		return err
	})
	return ln, err
}

// FD is the namespace's file descriptor (valid until Close).
func (ns *NS) FD() int { return int(ns.f.Fd()) }

// Close releases the namespace; it disappears once nothing else (a
// process, a socket, an interface's owner) holds it.
func (ns *NS) Close() error { return ns.f.Close() }

// SetUp brings interface name up and, when addr is valid, gives it that
// IPv4 address and prefix. Call it inside Do.
func SetUp(name string, addr netip.Prefix) error {
	s, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(s)
	if addr.IsValid() {
		if !addr.Addr().Is4() {
			return fmt.Errorf("%s: address %v: only IPv4 is supported", name, addr)
		}
		a := addr.Addr().As4()
		mask := net.CIDRMask(addr.Bits(), 32)
		for _, step := range []struct {
			req  uint
			addr []byte
		}{{unix.SIOCSIFADDR, a[:]}, {unix.SIOCSIFNETMASK, mask}} {
			ifr, err := unix.NewIfreq(name)
			if err != nil {
				return err
			}
			if err := ifr.SetInet4Addr(step.addr); err != nil {
				return err
			}
			if err := unix.IoctlIfreq(s, step.req, ifr); err != nil {
				return fmt.Errorf("%s: set address %v: %w", name, addr, err)
			}
		}
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(s, unix.SIOCGIFFLAGS, ifr); err != nil {
		if errors.Is(err, unix.ENODEV) {
			return fmt.Errorf("%s: no such interface: %w", name, err)
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(s, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("%s: set up: %w", name, err)
	}
	return nil
}
