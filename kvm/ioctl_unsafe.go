package kvm

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// Compile-time checks: each Go mirror of a kernel struct has exactly the
// kernel's size, so passing its address to an ioctl lets the kernel read and
// write only memory that belongs to the Go value. A mismatch fails the build.
var (
	_ [sizeRegs]byte          = [unsafe.Sizeof(Regs{})]byte{}
	_ [sizeSregs]byte         = [unsafe.Sizeof(Sregs{})]byte{}
	_ [sizeFPU]byte           = [unsafe.Sizeof(FPU{})]byte{}
	_ [sizeLAPICState]byte    = [unsafe.Sizeof(LAPICState{})]byte{}
	_ [sizeMemoryRegion]byte  = [unsafe.Sizeof(memoryRegion{})]byte{}
	_ [sizeIRQLevel]byte      = [unsafe.Sizeof(irqLevel{})]byte{}
	_ [sizePITConfig]byte     = [unsafe.Sizeof(pitConfig{})]byte{}
	_ [sizeIOEventFD]byte     = [unsafe.Sizeof(ioEventFD{})]byte{}
	_ [sizeIRQFD]byte         = [unsafe.Sizeof(irqFD{})]byte{}
	_ [sizeCoalescedZone]byte = [unsafe.Sizeof(coalescedZone{})]byte{}
	_ [sizeMSI]byte           = [unsafe.Sizeof(msi{})]byte{}
	_ [sizeCPUIDEntry]byte    = [unsafe.Sizeof(CPUIDEntry{})]byte{}
	_ [sizeMSREntry]byte      = [unsafe.Sizeof(MSREntry{})]byte{}
	_ [8]byte                 = [unsafe.Sizeof(uint64(0))]byte{}
	_ [sizeXSave]byte         = [unsafe.Sizeof(XSave{})]byte{}
	_ [sizeXCRs]byte          = [unsafe.Sizeof(XCRs{})]byte{}
	_ [sizeVCPUEvents]byte    = [unsafe.Sizeof(VCPUEvents{})]byte{}
	_ [sizeMPState]byte       = [unsafe.Sizeof(MPState{})]byte{}
	_ [sizeDebugRegs]byte     = [unsafe.Sizeof(DebugRegs{})]byte{}
	_ [sizeIRQChip]byte       = [unsafe.Sizeof(IRQChip{})]byte{}
	_ [sizePITState2]byte     = [unsafe.Sizeof(PITState2{})]byte{}
	_ [sizeClockData]byte     = [unsafe.Sizeof(ClockData{})]byte{}
)

// ioctlVal issues an ioctl whose argument is a plain integer (or none).
func ioctlVal(fd int, req uintptr, arg uintptr) (int, error) {
	return retryEINTR(func() (uintptr, unix.Errno) {
		r, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, arg)
		return r, e
	})
}

// ioctlPtr issues an ioctl whose argument points at one ABI struct.
// Safe because T is one of the structs checked above (or a uint64), so the
// kernel accesses exactly sizeof(T) bytes inside *p, and the pointer is
// converted inside the Syscall call expression, which keeps *p alive and in
// place until the call returns.
func ioctlPtr[T any](fd int, req uintptr, p *T) (int, error) {
	return retryEINTR(func() (uintptr, unix.Errno) {
		r, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, uintptr(unsafe.Pointer(p)))
		return r, e
	})
}

// ioctlBuf issues an ioctl whose argument is a variable-length struct that
// the caller encoded into buf (a header followed by entries).
// Safe because the header in buf tells the kernel how many entries follow,
// and every caller sizes buf for exactly that many; buf is non-empty and is
// kept alive by the call expression.
func ioctlBuf(fd int, req uintptr, buf []byte) (int, error) {
	if len(buf) == 0 {
		return 0, unix.EINVAL
	}
	return retryEINTR(func() (uintptr, unix.Errno) {
		r, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, uintptr(unsafe.Pointer(&buf[0])))
		return r, e
	})
}

// runIoctl issues KVM_RUN once. EINTR is returned to the caller, because an
// interrupted KVM_RUN is a meaningful event (a kick or a Go preemption signal).
func runIoctl(fd int) error {
	_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), reqRun, 0)
	if e != 0 {
		return e
	}
	return nil
}

// hostAddress returns the user-space address of mem for
// KVM_SET_USER_MEMORY_REGION. Safe because the address is only handed to the
// kernel, never dereferenced in Go, and SetUserMemoryRegion documents that
// mem must be a mapping (from mmap) that outlives the VM's use of the slot;
// mmap'd memory is not managed or moved by the Go garbage collector.
func hostAddress(mem []byte) uint64 {
	return uint64(uintptr(unsafe.Pointer(unsafe.SliceData(mem))))
}
