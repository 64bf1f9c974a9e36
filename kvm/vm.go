package kvm

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// VM is one KVM virtual machine: its memory slots, interrupt controllers,
// event fds and vCPUs.
type VM struct {
	fd      int
	runSize int
}

// Close destroys the VM handle. Close the VM's vCPUs first.
func (vm *VM) Close() error {
	if vm.fd < 0 {
		return nil
	}
	err := unix.Close(vm.fd)
	vm.fd = -1
	return err
}

// CheckExtension asks KVM_CHECK_EXTENSION on the VM, which answers for this
// VM's configuration (some capabilities differ per VM).
func (vm *VM) CheckExtension(c Cap) (int, error) {
	v, err := ioctlVal(vm.fd, reqCheckExtension, uintptr(c))
	if err != nil {
		return 0, fmt.Errorf("KVM_CHECK_EXTENSION %d on VM: %w", c, err)
	}
	return v, nil
}

// MemoryRegion describes one guest memory slot.
type MemoryRegion struct {
	Slot      uint32
	Flags     uint32
	GuestPhys uint64
	// Memory backs the slot. It must come from mmap (not the Go heap), be
	// page-aligned, and stay mapped until the slot is removed or the VM closed.
	Memory []byte
}

// SetUserMemoryRegion installs (or, with empty Memory, removes) a memory slot.
func (vm *VM) SetUserMemoryRegion(r MemoryRegion) error {
	if r.GuestPhys%4096 != 0 || len(r.Memory)%4096 != 0 {
		return fmt.Errorf("KVM_SET_USER_MEMORY_REGION slot %d: guest address %#x and size %#x must be page-aligned",
			r.Slot, r.GuestPhys, len(r.Memory))
	}
	mr := memoryRegion{Slot: r.Slot, Flags: r.Flags, GuestPhysAddr: r.GuestPhys, MemorySize: uint64(len(r.Memory))}
	if len(r.Memory) > 0 {
		mr.UserspaceAddr = hostAddress(r.Memory)
	}
	if _, err := ioctlPtr(vm.fd, reqSetUserMemoryRegion, &mr); err != nil {
		return fmt.Errorf("KVM_SET_USER_MEMORY_REGION slot %d at %#x (+%#x): %w", r.Slot, r.GuestPhys, len(r.Memory), err)
	}
	return nil
}

// SetTSSAddr places the three-page TSS region KVM needs on Intel hosts; the
// address must lie in a guest-physical range that is not RAM.
func (vm *VM) SetTSSAddr(addr uint32) error {
	if _, err := ioctlVal(vm.fd, reqSetTSSAddr, uintptr(addr)); err != nil {
		return fmt.Errorf("KVM_SET_TSS_ADDR %#x: %w", addr, err)
	}
	return nil
}

// SetIdentityMapAddr places the one-page identity map KVM needs on Intel hosts.
func (vm *VM) SetIdentityMapAddr(addr uint64) error {
	if _, err := ioctlPtr(vm.fd, reqSetIdentityMapAddr, &addr); err != nil {
		return fmt.Errorf("KVM_SET_IDENTITY_MAP_ADDR %#x: %w", addr, err)
	}
	return nil
}

// CreateIRQChip creates the in-kernel PIC pair, IOAPIC and local APICs.
// Call it before creating vCPUs.
func (vm *VM) CreateIRQChip() error {
	if _, err := ioctlVal(vm.fd, reqCreateIRQChip, 0); err != nil {
		return fmt.Errorf("KVM_CREATE_IRQCHIP: %w", err)
	}
	return nil
}

// CreatePIT2 creates the in-kernel i8254 timer. Needs CreateIRQChip first.
func (vm *VM) CreatePIT2(flags uint32) error {
	cfg := pitConfig{Flags: flags}
	if _, err := ioctlPtr(vm.fd, reqCreatePIT2, &cfg); err != nil {
		return fmt.Errorf("KVM_CREATE_PIT2: %w", err)
	}
	return nil
}

// SetIRQLine drives interrupt line irq (a GSI) high or low.
func (vm *VM) SetIRQLine(irq uint32, high bool) error {
	l := irqLevel{IRQ: irq}
	if high {
		l.Level = 1
	}
	if _, err := ioctlPtr(vm.fd, reqIRQLine, &l); err != nil {
		return fmt.Errorf("KVM_IRQ_LINE %d=%d: %w", irq, l.Level, err)
	}
	return nil
}

// IOEvent describes an ioeventfd: a guest write to Addr (of Len bytes,
// optionally only with the value Datamatch) signals FD instead of exiting.
type IOEvent struct {
	Addr      uint64
	Len       uint32 // 0 (any), 1, 2, 4 or 8
	FD        int
	PIO       bool // port I/O rather than MMIO
	Datamatch *uint64
}

// AddIOEventFD registers ev.
func (vm *VM) AddIOEventFD(ev IOEvent) error {
	return vm.ioeventfd(ev, 0)
}

// RemoveIOEventFD unregisters a registration made with AddIOEventFD.
func (vm *VM) RemoveIOEventFD(ev IOEvent) error {
	return vm.ioeventfd(ev, ioeventfdDeassign)
}

func (vm *VM) ioeventfd(ev IOEvent, flags uint32) error {
	a := ioEventFD{Addr: ev.Addr, Len: ev.Len, FD: int32(ev.FD), Flags: flags}
	if ev.PIO {
		a.Flags |= ioeventfdPIO
	}
	if ev.Datamatch != nil {
		a.Flags |= ioeventfdDatamatch
		a.Datamatch = *ev.Datamatch
	}
	if _, err := ioctlPtr(vm.fd, reqIOEventFD, &a); err != nil {
		return fmt.Errorf("KVM_IOEVENTFD addr %#x len %d flags %#x: %w", ev.Addr, ev.Len, a.Flags, err)
	}
	return nil
}

// AddIRQFD makes a write to eventfd fd raise interrupt gsi.
func (vm *VM) AddIRQFD(fd int, gsi uint32) error {
	a := irqFD{FD: uint32(fd), GSI: gsi}
	if _, err := ioctlPtr(vm.fd, reqIRQFD, &a); err != nil {
		return fmt.Errorf("KVM_IRQFD fd %d gsi %d: %w", fd, gsi, err)
	}
	return nil
}

// RemoveIRQFD undoes AddIRQFD.
func (vm *VM) RemoveIRQFD(fd int, gsi uint32) error {
	a := irqFD{FD: uint32(fd), GSI: gsi, Flags: irqfdDeassign}
	if _, err := ioctlPtr(vm.fd, reqIRQFD, &a); err != nil {
		return fmt.Errorf("KVM_IRQFD deassign fd %d gsi %d: %w", fd, gsi, err)
	}
	return nil
}

// SignalMSI injects one message-signalled interrupt.
func (vm *VM) SignalMSI(address uint64, data uint32) error {
	m := msi{AddressLo: uint32(address), AddressHi: uint32(address >> 32), Data: data}
	if _, err := ioctlPtr(vm.fd, reqSignalMSI, &m); err != nil {
		return fmt.Errorf("KVM_SIGNAL_MSI addr %#x data %#x: %w", address, data, err)
	}
	return nil
}

// CreateVCPU creates vCPU id (its initial APIC ID) and maps its kvm_run area.
func (vm *VM) CreateVCPU(id int) (*VCPU, error) {
	fd, err := ioctlVal(vm.fd, reqCreateVCPU, uintptr(id))
	if err != nil {
		return nil, fmt.Errorf("KVM_CREATE_VCPU %d: %w", id, err)
	}
	unix.CloseOnExec(fd)
	run, err := unix.Mmap(fd, 0, vm.runSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("mmap kvm_run of vCPU %d: %w", id, err)
	}
	return &VCPU{fd: fd, id: id, run: run}, nil
}
