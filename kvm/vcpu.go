package kvm

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// VCPU is one virtual CPU. Its methods must be called from the goroutine
// that runs it, locked to one OS thread (runtime.LockOSThread): KVM ties a
// vCPU to the thread that last ran it.
type VCPU struct {
	fd  int
	id  int
	run []byte // the mmap'd kvm_run area
}

// ID is the vCPU index given to CreateVCPU.
func (c *VCPU) ID() int { return c.id }

// Close unmaps the kvm_run area and closes the vCPU.
func (c *VCPU) Close() error {
	if c.fd < 0 {
		return nil
	}
	err := unix.Munmap(c.run)
	c.run = nil
	if cerr := unix.Close(c.fd); err == nil {
		err = cerr
	}
	c.fd = -1
	return err
}

// Run enters the guest until the next exit and decodes it. A KVM_RUN that a
// signal interrupted is reported as an ExitIntr exit, not as an error, and so
// is EAGAIN, which KVM returns when a vCPU waiting for INIT/SIPI has just
// received them and must simply be run again.
func (c *VCPU) Run() (Exit, error) {
	if err := runIoctl(c.fd); err != nil {
		if errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN) {
			return Exit{Reason: ExitIntr}, nil
		}
		return Exit{}, fmt.Errorf("KVM_RUN on vCPU %d: %w", c.id, err)
	}
	return DecodeExit(c.run)
}

// SetImmediateExit sets kvm_run.immediate_exit: while set, KVM_RUN returns
// at once with EINTR. Used to stop a vCPU between runs.
func (c *VCPU) SetImmediateExit(on bool) {
	var v byte
	if on {
		v = 1
	}
	c.run[runImmediateExit] = v
}

// Regs reads the general-purpose registers.
func (c *VCPU) Regs() (Regs, error) {
	var r Regs
	if _, err := ioctlPtr(c.fd, reqGetRegs, &r); err != nil {
		return r, fmt.Errorf("KVM_GET_REGS on vCPU %d: %w", c.id, err)
	}
	return r, nil
}

// SetRegs writes the general-purpose registers.
func (c *VCPU) SetRegs(r Regs) error {
	if _, err := ioctlPtr(c.fd, reqSetRegs, &r); err != nil {
		return fmt.Errorf("KVM_SET_REGS on vCPU %d: %w", c.id, err)
	}
	return nil
}

// Sregs reads the special registers.
func (c *VCPU) Sregs() (Sregs, error) {
	var s Sregs
	if _, err := ioctlPtr(c.fd, reqGetSregs, &s); err != nil {
		return s, fmt.Errorf("KVM_GET_SREGS on vCPU %d: %w", c.id, err)
	}
	return s, nil
}

// SetSregs writes the special registers.
func (c *VCPU) SetSregs(s Sregs) error {
	if _, err := ioctlPtr(c.fd, reqSetSregs, &s); err != nil {
		return fmt.Errorf("KVM_SET_SREGS on vCPU %d: %w", c.id, err)
	}
	return nil
}

// FPU reads the x87/SSE state.
func (c *VCPU) FPU() (FPU, error) {
	var f FPU
	if _, err := ioctlPtr(c.fd, reqGetFPU, &f); err != nil {
		return f, fmt.Errorf("KVM_GET_FPU on vCPU %d: %w", c.id, err)
	}
	return f, nil
}

// SetFPU writes the x87/SSE state.
func (c *VCPU) SetFPU(f FPU) error {
	if _, err := ioctlPtr(c.fd, reqSetFPU, &f); err != nil {
		return fmt.Errorf("KVM_SET_FPU on vCPU %d: %w", c.id, err)
	}
	return nil
}

// LAPIC reads the local APIC register page (needs the in-kernel irqchip).
func (c *VCPU) LAPIC() (LAPICState, error) {
	var l LAPICState
	if _, err := ioctlPtr(c.fd, reqGetLAPIC, &l); err != nil {
		return l, fmt.Errorf("KVM_GET_LAPIC on vCPU %d: %w", c.id, err)
	}
	return l, nil
}

// SetLAPIC writes the local APIC register page.
func (c *VCPU) SetLAPIC(l LAPICState) error {
	if _, err := ioctlPtr(c.fd, reqSetLAPIC, &l); err != nil {
		return fmt.Errorf("KVM_SET_LAPIC on vCPU %d: %w", c.id, err)
	}
	return nil
}

// SetCPUID sets the CPUID leaves the guest sees.
func (c *VCPU) SetCPUID(entries []CPUIDEntry) error {
	if _, err := ioctlBuf(c.fd, reqSetCPUID2, encodeCPUID(entries)); err != nil {
		return fmt.Errorf("KVM_SET_CPUID2 (%d entries) on vCPU %d: %w", len(entries), c.id, err)
	}
	return nil
}

// MSRs reads the given MSRs. It fails unless KVM returns every one.
func (c *VCPU) MSRs(indices ...uint32) ([]MSREntry, error) {
	entries := make([]MSREntry, len(indices))
	for i, idx := range indices {
		entries[i].Index = idx
	}
	buf := encodeMSRs(entries)
	n, err := ioctlBuf(c.fd, reqGetMSRs, buf)
	if err != nil {
		return nil, fmt.Errorf("KVM_GET_MSRS on vCPU %d: %w", c.id, err)
	}
	if n < len(indices) {
		return nil, fmt.Errorf("KVM_GET_MSRS on vCPU %d: read %d of %d (MSR %#x failed)", c.id, n, len(indices), indices[n])
	}
	return decodeMSRs(buf, n)
}

// SetMSRs writes the given MSRs. It fails unless KVM accepts every one.
func (c *VCPU) SetMSRs(entries ...MSREntry) error {
	n, err := ioctlBuf(c.fd, reqSetMSRs, encodeMSRs(entries))
	if err != nil {
		return fmt.Errorf("KVM_SET_MSRS on vCPU %d: %w", c.id, err)
	}
	if n < len(entries) {
		return fmt.Errorf("KVM_SET_MSRS on vCPU %d: wrote %d of %d (MSR %#x refused)", c.id, n, len(entries), entries[n].Index)
	}
	return nil
}
