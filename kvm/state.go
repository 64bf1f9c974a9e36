package kvm

import "fmt"

// The state a snapshot saves and a restore puts back, beyond the
// registers: kept as the kernel's own byte layouts (vmm never looks
// inside most of them), each an ABI struct of fixed size.

// Sizes of the state structs.
const (
	sizeXSave      = 4096 // struct kvm_xsave (the legacy 4 KiB area)
	sizeXCRs       = 392  // struct kvm_xcrs
	sizeVCPUEvents = 64   // struct kvm_vcpu_events
	sizeMPState    = 4    // struct kvm_mp_state
	sizeDebugRegs  = 128  // struct kvm_debugregs
	sizeIRQChip    = 520  // struct kvm_irqchip
	sizePITState2  = 112  // struct kvm_pit_state2
	sizeClockData  = 48   // struct kvm_clock_data
)

const (
	reqGetXSave      = (iocRead)<<30 | sizeXSave<<16 | kvmio<<8 | 0xa4
	reqSetXSave      = (iocWrite)<<30 | sizeXSave<<16 | kvmio<<8 | 0xa5
	reqGetXCRs       = (iocRead)<<30 | sizeXCRs<<16 | kvmio<<8 | 0xa6
	reqSetXCRs       = (iocWrite)<<30 | sizeXCRs<<16 | kvmio<<8 | 0xa7
	reqGetVCPUEvents = (iocRead)<<30 | sizeVCPUEvents<<16 | kvmio<<8 | 0x9f
	reqSetVCPUEvents = (iocWrite)<<30 | sizeVCPUEvents<<16 | kvmio<<8 | 0xa0
	reqGetMPState    = (iocRead)<<30 | sizeMPState<<16 | kvmio<<8 | 0x98
	reqSetMPState    = (iocWrite)<<30 | sizeMPState<<16 | kvmio<<8 | 0x99
	reqGetDebugRegs  = (iocRead)<<30 | sizeDebugRegs<<16 | kvmio<<8 | 0xa1
	reqSetDebugRegs  = (iocWrite)<<30 | sizeDebugRegs<<16 | kvmio<<8 | 0xa2
	reqGetIRQChip    = (iocRead|iocWrite)<<30 | sizeIRQChip<<16 | kvmio<<8 | 0x62
	reqSetIRQChip    = (iocRead)<<30 | sizeIRQChip<<16 | kvmio<<8 | 0x63 // _IOR in <linux/kvm.h>, as here
	reqGetPIT2       = (iocRead)<<30 | sizePITState2<<16 | kvmio<<8 | 0x9f
	reqSetPIT2       = (iocWrite)<<30 | sizePITState2<<16 | kvmio<<8 | 0xa0
	reqGetClock      = (iocRead)<<30 | sizeClockData<<16 | kvmio<<8 | 0x7c
	reqSetClock      = (iocWrite)<<30 | sizeClockData<<16 | kvmio<<8 | 0x7b
	reqKVMClockCtrl  = (iocNone)<<30 | 0<<16 | kvmio<<8 | 0xad
)

// XSave is struct kvm_xsave: the FPU, SSE and AVX state.
type XSave struct{ Region [sizeXSave]byte }

// XCRs is struct kvm_xcrs: the extended control registers (XCR0).
type XCRs struct{ Data [sizeXCRs]byte }

// VCPUEvents is struct kvm_vcpu_events: pending exceptions, interrupts,
// NMIs and SIPIs, and the interrupt shadow.
type VCPUEvents struct{ Data [sizeVCPUEvents]byte }

// MPState is struct kvm_mp_state: running, halted, waiting for SIPI...
type MPState struct{ State uint32 }

// DebugRegs is struct kvm_debugregs.
type DebugRegs struct{ Data [sizeDebugRegs]byte }

// IRQChip is struct kvm_irqchip: one of the in-kernel interrupt
// controllers (ChipID 0 the master PIC, 1 the slave, 2 the IOAPIC).
type IRQChip struct {
	ChipID uint32
	_      uint32
	Chip   [512]byte
}

// The in-kernel interrupt controllers.
const (
	ChipPICMaster = 0
	ChipPICSlave  = 1
	ChipIOAPIC    = 2
)

// PITState2 is struct kvm_pit_state2: the in-kernel timer's channels.
type PITState2 struct{ Data [sizePITState2]byte }

// ClockData is struct kvm_clock_data: the VM's kvmclock. With
// ClockRealtime in Flags, a restore moves the clock on by the real time
// that passed since Realtime was read.
type ClockData struct {
	Clock    uint64
	Flags    uint32
	_        uint32
	Realtime uint64
	HostTSC  uint64
	_        [4]uint32
}

// ClockRealtime is KVM_CLOCK_REALTIME.
const ClockRealtime = 1 << 2

// blob reads or writes one fixed-size state struct of a vCPU.
func vcpuBlob[T any](c *VCPU, req uintptr, v *T, what string) error {
	if _, err := ioctlPtr(c.fd, req, v); err != nil {
		return fmt.Errorf("%s on vCPU %d: %w", what, c.id, err)
	}
	return nil
}

// getVCPU reads one fixed-size state struct of a vCPU.
func getVCPU[T any](c *VCPU, req uintptr, what string) (T, error) {
	var v T
	err := vcpuBlob(c, req, &v, what)
	return v, err
}

// getVM reads one fixed-size state struct of the VM.
func getVM[T any](vm *VM, req uintptr, v T, what string) (T, error) {
	err := vmBlob(vm, req, &v, what)
	return v, err
}

// XSave reads the extended FPU state.
func (c *VCPU) XSave() (XSave, error) { return getVCPU[XSave](c, reqGetXSave, "KVM_GET_XSAVE") }

// SetXSave writes the extended FPU state.
func (c *VCPU) SetXSave(x XSave) error { return vcpuBlob(c, reqSetXSave, &x, "KVM_SET_XSAVE") }

// XCRs reads the extended control registers.
func (c *VCPU) XCRs() (XCRs, error) { return getVCPU[XCRs](c, reqGetXCRs, "KVM_GET_XCRS") }

// SetXCRs writes the extended control registers.
func (c *VCPU) SetXCRs(x XCRs) error { return vcpuBlob(c, reqSetXCRs, &x, "KVM_SET_XCRS") }

// Events reads the pending events.
func (c *VCPU) Events() (VCPUEvents, error) {
	return getVCPU[VCPUEvents](c, reqGetVCPUEvents, "KVM_GET_VCPU_EVENTS")
}

// SetEvents writes the pending events.
func (c *VCPU) SetEvents(e VCPUEvents) error {
	return vcpuBlob(c, reqSetVCPUEvents, &e, "KVM_SET_VCPU_EVENTS")
}

// MPState reads the multiprocessing state.
func (c *VCPU) MPState() (MPState, error) {
	return getVCPU[MPState](c, reqGetMPState, "KVM_GET_MP_STATE")
}

// SetMPState writes the multiprocessing state.
func (c *VCPU) SetMPState(s MPState) error { return vcpuBlob(c, reqSetMPState, &s, "KVM_SET_MP_STATE") }

// DebugRegs reads the debug registers.
func (c *VCPU) DebugRegs() (DebugRegs, error) {
	return getVCPU[DebugRegs](c, reqGetDebugRegs, "KVM_GET_DEBUGREGS")
}

// SetDebugRegs writes the debug registers.
func (c *VCPU) SetDebugRegs(d DebugRegs) error {
	return vcpuBlob(c, reqSetDebugRegs, &d, "KVM_SET_DEBUGREGS")
}

// ClockPaused tells the guest's kvmclock that the vCPU was stopped (so
// its watchdogs do not report a lockup); EINVAL means the guest has no
// kvmclock page, which is fine.
func (c *VCPU) ClockPaused() error {
	_, err := ioctlVal(c.fd, reqKVMClockCtrl, 0)
	return err
}

// MSRList reads the MSRs in indices one at a time and returns those KVM
// could read (the index list names some a given CPU does not have).
func (c *VCPU) MSRList(indices []uint32) ([]MSREntry, error) {
	var out []MSREntry
	for _, idx := range indices {
		e, err := c.MSRs(idx)
		if err == nil {
			out = append(out, e...)
		}
	}
	if len(out) == 0 && len(indices) > 0 {
		return nil, fmt.Errorf("vCPU %d: none of %d MSRs readable", c.id, len(indices))
	}
	return out, nil
}

// vmBlob reads or writes one fixed-size state struct of the VM.
func vmBlob[T any](vm *VM, req uintptr, v *T, what string) error {
	if _, err := ioctlPtr(vm.fd, req, v); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// IRQChip reads in-kernel interrupt controller id (ChipPICMaster, ...).
func (vm *VM) IRQChip(id uint32) (IRQChip, error) {
	return getVM(vm, reqGetIRQChip, IRQChip{ChipID: id}, fmt.Sprintf("KVM_GET_IRQCHIP %d", id))
}

// SetIRQChip writes an in-kernel interrupt controller.
func (vm *VM) SetIRQChip(c IRQChip) error {
	return vmBlob(vm, reqSetIRQChip, &c, fmt.Sprintf("KVM_SET_IRQCHIP %d", c.ChipID))
}

// PIT2 reads the in-kernel timer.
func (vm *VM) PIT2() (PITState2, error) { return getVM(vm, reqGetPIT2, PITState2{}, "KVM_GET_PIT2") }

// SetPIT2 writes the in-kernel timer.
func (vm *VM) SetPIT2(p PITState2) error { return vmBlob(vm, reqSetPIT2, &p, "KVM_SET_PIT2") }

// Clock reads the VM's kvmclock.
func (vm *VM) Clock() (ClockData, error) { return getVM(vm, reqGetClock, ClockData{}, "KVM_GET_CLOCK") }

// SetClock writes the VM's kvmclock.
func (vm *VM) SetClock(c ClockData) error { return vmBlob(vm, reqSetClock, &c, "KVM_SET_CLOCK") }
