package machine

import (
	"github.com/vmmlab/vmm/devices/boottimer"
	"github.com/vmmlab/vmm/devices/exitstatus"
	"github.com/vmmlab/vmm/devices/pci"
)

// The machine's layout: every guest-physical address, I/O port and
// interrupt line (GSI) vmm gives a device or a table, with its reason.
// What the boot loader writes below 1 MiB (GDT 0x500, PVH start info
// 0x6000, zero page 0x7000, page tables 0x9000, command line 0x20000) and
// the RAM/MMIO-hole split (RAM up to 3 GiB, then from 4 GiB) belong to
// the boot protocol and are defined in package boot.
//
// Guest-physical memory:
//
//	0x000e0000  ACPI tables (RSDP first), in the BIOS area e820 reserves
//	0x000ef000  the VM generation ID (16 bytes), in the same area
//	0xc0000000  PCI BARs, one virtio-pci BAR per slot (BARSize apart)
//	0xd0000000  virtio-mmio windows, 4 KiB each, one per device
//	0xfec00000  IOAPIC (KVM's in-kernel irqchip)
//	0xfee00000  local APICs (in-kernel)
//	0xfffbc000  KVM's identity-map page and, after it, its TSS (3 pages):
//	            Intel's real-mode emulation needs them inside guest space
//	above RAM   virtio-pmem windows (--pmem), each at a 1 GiB boundary at
//	            or above 4 GiB and past the end of RAM (firstPmemBase)
//
// Ports:
//
//	0x60, 0x64  i8042 (the guest's reset through the keyboard controller)
//	0x70-0x71   CMOS RTC
//	0x3f8-0x3ff 8250 UART, COM1
//	0x440       boot timer (vmm-init writes it when the guest booted)
//	0x441       workload exit status (vmm-init writes it)
//	0x600-0x607 ACPI PM1a event/control and reset register (the FADT)
//	0xcf8-0xcff PCI configuration mechanism 1
//
// Interrupt lines (GSIs of the in-kernel PIC and IOAPIC):
//
//	4           the UART
//	9           the ACPI SCI
//	5, 6, 7, 10, 11, 12, 14, 15  virtio-mmio devices, in slot order
//	10, 11      PCI INTA# of the slots, alternately (shared lines)
//	16          the Generic Event Device: "the VM generation ID changed"
//
// virtio-mmio and PCI INTx both use 10 and 11. That is safe only because
// one machine puts its virtio devices on one transport (Config.VirtioMMIO),
// never both: a machine with both would have to split the lines.
const (
	acpiBase    = 0xe0000
	pciMMIOBase = 0xc000_0000
	mmioBase    = 0xd000_0000
	ioapicAddr  = 0xfec00000
	lapicAddr   = 0xfee00000
	identityMap = 0xfffbc000
	tssAddr     = 0xfffbd000

	i8042Port      = 0x60
	rtcPort        = 0x70
	serialPort     = 0x3f8
	bootTimerPort  = boottimer.Port
	exitStatusPort = exitstatus.Port
	powerPort      = 0x600
	pciConfigPort  = pci.AddressPort

	serialIRQ = 4
	sciIRQ    = 9
	// resetValue is what the guest writes to the ACPI reset register
	// (powerPort+6) to reboot, as the FADT says.
	resetValue = 1
)

// mmioIRQs are the lines of the virtio-mmio devices, by slot: ISA lines
// no other device uses.
func mmioIRQs() []uint32 { return []uint32{5, 6, 7, 10, 11, 12, 14, 15} }

// intxIRQs are the lines PCI slots' INTA# are wired to, in turn (shared
// when there are more slots): ISA IRQs, because with no ACPI routing for
// the bus Linux takes the interrupt line register only if it names one.
func intxIRQs() []uint32 { return []uint32{10, 11} }
