// Package tap opens Linux TAP interfaces for virtio-net: each frame read
// or written carries a 12-byte virtio-net header (IFF_VNET_HDR with
// TUNSETVNETHDRSZ 12), and the offloads the guest accepts are passed to
// the kernel with TUNSETOFFLOAD. It owns the host side of a VM's network
// interface and nothing else: addresses and bridges are the host's
// business.
package tap

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/vmmlab/vmm/devices/virtio/netdev"
)

// Device is the path of the TUN/TAP clone device.
const Device = "/dev/net/tun"

const vnetHeaderSize = netdev.HeaderSize

// Tap is one open TAP queue.
type Tap struct {
	f    *os.File
	name string
}

// Open attaches to the TAP interface name, creating it when it does not
// exist (which needs CAP_NET_ADMIN). device is normally Device.
func Open(device, name string) (*Tap, error) {
	if name == "" || len(name) >= unix.IFNAMSIZ {
		return nil, fmt.Errorf("tap %q: a name of 1 to %d bytes is needed", name, unix.IFNAMSIZ-1)
	}
	fd, err := unix.Open(device, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil, fmt.Errorf("tap %s: %s does not exist: load the tun module (modprobe tun): %w", name, device, err)
		}
		return nil, fmt.Errorf("tap %s: open %s: %w", name, device, err)
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("tap %s: %w", name, err)
	}
	ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI | unix.IFF_VNET_HDR)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		switch {
		case errors.Is(err, unix.EBUSY):
			return nil, fmt.Errorf("tap %s is busy: another process has it open (or it is a multi-queue or TUN interface): %w", name, err)
		case errors.Is(err, unix.EPERM):
			return nil, fmt.Errorf("tap %s: not allowed to create or attach it: create it first with "+
				"`ip tuntap add %s mode tap user $USER`, or run vmm with CAP_NET_ADMIN: %w", name, name, err)
		case errors.Is(err, unix.EINVAL):
			return nil, fmt.Errorf("tap %s: the interface exists but is not a TAP with these flags: %w", name, err)
		}
		return nil, fmt.Errorf("tap %s: TUNSETIFF: %w", name, err)
	}
	return setup(fd, ifr.Name())
}

// FromFD uses an already open TAP queue (e.g. passed by a parent that had
// the privilege to create it). It must have been opened with
// IFF_VNET_HDR; vmm takes ownership of fd.
func FromFD(fd int) (*Tap, error) {
	ifr, err := unix.NewIfreq("")
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	if err := unix.IoctlIfreq(fd, unix.TUNGETIFF, ifr); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("tap fd %d: not a TAP file descriptor: %w", fd, err)
	}
	flags := ifr.Uint16()
	if flags&unix.IFF_TAP == 0 || flags&unix.IFF_VNET_HDR == 0 || flags&unix.IFF_NO_PI == 0 {
		unix.Close(fd)
		return nil, fmt.Errorf("tap fd %d (%s): flags %#x: want a TAP opened with IFF_NO_PI and IFF_VNET_HDR", fd, ifr.Name(), flags)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("tap fd %d: %w", fd, err)
	}
	return setup(fd, ifr.Name())
}

// setup sets the header size and no offloads, then wraps fd; it closes
// fd on failure.
func setup(fd int, name string) (*Tap, error) {
	if err := unix.IoctlSetPointerInt(fd, unix.TUNSETVNETHDRSZ, vnetHeaderSize); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("tap %s: TUNSETVNETHDRSZ: %w", name, err)
	}
	if err := unix.IoctlSetInt(fd, unix.TUNSETOFFLOAD, 0); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("tap %s: TUNSETOFFLOAD: %w", name, err)
	}
	// Non-blocking, so the runtime poller wakes readers and Close
	// interrupts a blocked ReadFrame.
	return &Tap{f: os.NewFile(uintptr(fd), "tap "+name), name: name}, nil
}

// Name is the interface name.
func (t *Tap) Name() string { return t.name }

// ReadFrame blocks until a frame arrives; it fails once the tap is closed.
func (t *Tap) ReadFrame(p []byte) (int, error) { return t.f.Read(p) }

// WriteFrame sends one frame, header first.
func (t *Tap) WriteFrame(p []byte) error {
	_, err := t.f.Write(p)
	return err
}

// SetOffload tells the kernel which offloads the reader (the guest)
// accepts, so it hands over partially checksummed or GSO frames only then.
func (t *Tap) SetOffload(o netdev.Offload) error {
	var flags int
	if o.CSUM {
		flags |= unix.TUN_F_CSUM
	}
	if o.TSO4 {
		flags |= unix.TUN_F_TSO4
	}
	if o.TSO6 {
		flags |= unix.TUN_F_TSO6
	}
	if o.ECN {
		flags |= unix.TUN_F_TSO_ECN
	}
	var err error
	if ctlErr := t.control(func(fd uintptr) { err = unix.IoctlSetInt(int(fd), unix.TUNSETOFFLOAD, flags) }); ctlErr != nil {
		return fmt.Errorf("tap %s: %w", t.name, ctlErr)
	}
	if err != nil {
		return fmt.Errorf("tap %s: TUNSETOFFLOAD %#x: %w", t.name, flags, err)
	}
	return nil
}

func (t *Tap) control(f func(fd uintptr)) error {
	rc, err := t.f.SyscallConn()
	if err != nil {
		return err
	}
	return rc.Control(f)
}

// File returns a duplicate of the queue's descriptor, e.g. to pass to a
// child vmm (--net fd=N); the caller closes it.
func (t *Tap) File() (*os.File, error) {
	var fd int
	var err error
	if ctlErr := t.control(func(raw uintptr) { fd, err = unix.FcntlInt(raw, unix.F_DUPFD_CLOEXEC, 0) }); ctlErr != nil {
		return nil, ctlErr
	}
	if err != nil {
		return nil, fmt.Errorf("tap %s: dup: %w", t.name, err)
	}
	return os.NewFile(uintptr(fd), "tap "+t.name), nil
}

// Close closes the queue; a non-persistent tap the kernel created for
// Open then goes away.
func (t *Tap) Close() error { return t.f.Close() }
