// Package kvm owns the typed handles over the Linux KVM API: System
// (/dev/kvm), VM and VCPU, their ioctls, and the decoding of kvm_run exits.
// It knows nothing about devices or boot protocols; the machine assembly
// above it wires exits to a bus and lays out guest memory.
package kvm

import (
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// DefaultDevice is where the KVM device node lives.
const DefaultDevice = "/dev/kvm"

// ErrUnavailable is wrapped by Open when KVM cannot be used on this host.
var ErrUnavailable = errors.New("KVM unavailable")

// System is an open /dev/kvm: the system-wide KVM handle.
type System struct {
	fd   int
	path string
}

// Open opens the KVM device at path (DefaultDevice when empty) and checks the
// API version. The errors for a missing device or a permission problem say
// what to do about it, and wrap ErrUnavailable.
func Open(path string) (*System, error) {
	if path == "" {
		path = DefaultDevice
	}
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, openError(path, err)
	}
	s := &System{fd: fd, path: path}
	v, err := s.APIVersion()
	if err != nil {
		s.Close()
		return nil, err
	}
	if v != APIVersion {
		s.Close()
		return nil, fmt.Errorf("%s: KVM API version %d, want %d: %w", path, v, APIVersion, ErrUnavailable)
	}
	return s, nil
}

func openError(path string, err error) error {
	switch {
	case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ENXIO), errors.Is(err, unix.ENODEV):
		return fmt.Errorf("open %s: %v: %w: this host has no KVM; enable virtualization (VT-x/AMD-V) "+
			"in the firmware and load kvm_intel or kvm_amd, or use a machine with nested virtualization "+
			"(developers without KVM: `make e2e` runs vmm inside a QEMU lab)", path, err, ErrUnavailable)
	case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM):
		return fmt.Errorf("open %s: %v: %w: add your user to the group that owns %s (usually `kvm`: "+
			"sudo usermod -aG kvm $USER, then log in again) or run as root", path, err, ErrUnavailable, path)
	default:
		return fmt.Errorf("open %s: %w", path, errors.Join(err, ErrUnavailable))
	}
}

// Close releases the handle. VMs created from it stay usable.
func (s *System) Close() error {
	if s.fd < 0 {
		return nil
	}
	err := unix.Close(s.fd)
	s.fd = -1
	return err
}

// APIVersion returns KVM_GET_API_VERSION.
func (s *System) APIVersion() (int, error) {
	v, err := ioctlVal(s.fd, reqGetAPIVersion, 0)
	if err != nil {
		return 0, fmt.Errorf("KVM_GET_API_VERSION: %w", err)
	}
	return v, nil
}

// CheckExtension returns KVM_CHECK_EXTENSION for c: 0 when unsupported,
// otherwise 1 or a capability-specific number.
func (s *System) CheckExtension(c Cap) (int, error) {
	v, err := ioctlVal(s.fd, reqCheckExtension, uintptr(c))
	if err != nil {
		return 0, fmt.Errorf("KVM_CHECK_EXTENSION %d: %w", c, err)
	}
	return v, nil
}

// VCPUMmapSize returns the size of the kvm_run area each vCPU maps.
func (s *System) VCPUMmapSize() (int, error) {
	v, err := ioctlVal(s.fd, reqGetVCPUMmapSize, 0)
	if err != nil {
		return 0, fmt.Errorf("KVM_GET_VCPU_MMAP_SIZE: %w", err)
	}
	return v, nil
}

// SupportedCPUID returns KVM_GET_SUPPORTED_CPUID: the CPUID leaves this
// host's KVM can offer a guest.
func (s *System) SupportedCPUID() ([]CPUIDEntry, error) {
	for n := 64; n <= 4096; n *= 2 {
		buf := make([]byte, sizeVarHeader+n*sizeCPUIDEntry)
		binary.LittleEndian.PutUint32(buf, uint32(n))
		_, err := ioctlBuf(s.fd, reqGetSupportedCPUID, buf)
		if errors.Is(err, unix.E2BIG) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("KVM_GET_SUPPORTED_CPUID: %w", err)
		}
		return decodeCPUID(buf)
	}
	return nil, fmt.Errorf("KVM_GET_SUPPORTED_CPUID: more than 4096 entries")
}

// MSRIndexList returns KVM_GET_MSR_INDEX_LIST: the MSRs KVM saves and
// restores for a guest.
func (s *System) MSRIndexList() ([]uint32, error) {
	head := make([]byte, sizeMSRListHeader)
	_, err := ioctlBuf(s.fd, reqGetMSRIndexList, head)
	if err != nil && !errors.Is(err, unix.E2BIG) {
		return nil, fmt.Errorf("KVM_GET_MSR_INDEX_LIST: %w", err)
	}
	n := binary.LittleEndian.Uint32(head)
	if n > 65536 {
		return nil, fmt.Errorf("KVM_GET_MSR_INDEX_LIST: implausible count %d", n)
	}
	buf := make([]byte, sizeMSRListHeader+4*int(n))
	binary.LittleEndian.PutUint32(buf, n)
	if _, err := ioctlBuf(s.fd, reqGetMSRIndexList, buf); err != nil {
		return nil, fmt.Errorf("KVM_GET_MSR_INDEX_LIST: %w", err)
	}
	got := binary.LittleEndian.Uint32(buf)
	if got > n {
		return nil, fmt.Errorf("KVM_GET_MSR_INDEX_LIST: kernel returned %d entries for %d slots", got, n)
	}
	list := make([]uint32, got)
	for i := range list {
		list[i] = binary.LittleEndian.Uint32(buf[sizeMSRListHeader+4*i:])
	}
	return list, nil
}

// CreateVM creates a new, empty virtual machine.
func (s *System) CreateVM() (*VM, error) {
	mmapSize, err := s.VCPUMmapSize()
	if err != nil {
		return nil, err
	}
	fd, err := ioctlVal(s.fd, reqCreateVM, 0)
	if err != nil {
		return nil, fmt.Errorf("KVM_CREATE_VM: %w", err)
	}
	unix.CloseOnExec(fd)
	return &VM{fd: fd, runSize: mmapSize}, nil
}

// retryEINTR repeats a set-up ioctl that a signal interrupted.
func retryEINTR(call func() (uintptr, unix.Errno)) (int, error) {
	for {
		r, e := call()
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return int(r), e
		}
		return int(r), nil
	}
}

// Device returns the path this handle was opened from.
func (s *System) Device() string { return s.path }
