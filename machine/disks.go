package machine

import (
	"fmt"
	"strings"

	"github.com/vmmlab/vmm/devices/pci"
	"github.com/vmmlab/vmm/devices/virtio/blk"
	virtiopci "github.com/vmmlab/vmm/devices/virtio/pci"
	"github.com/vmmlab/vmm/kvm"
)

// Disk is a virtio-blk disk to attach.
type Disk struct {
	Path     string
	ReadOnly bool
}

// PCI devices' BARs are placed from here up, in the MMIO hole.
const pciMMIOBase = 0xc000_0000

// msiSender delivers a device's MSI through KVM.
type msiSender struct{ vm *kvm.VM }

func (s msiSender) SignalMSI(addr uint64, data uint32) error { return s.vm.SignalMSI(addr, data) }

// createPCI puts the PCI bus on the port bus and a virtio-blk device on it
// for each disk, each with its BAR0 on the MMIO bus.
func (m *Machine) createPCI(disks []Disk) error {
	bus := pci.NewBus()
	if err := m.pio.Register("pci-conf1", pci.AddressPort, pci.Ports, bus); err != nil {
		return err
	}
	for i, d := range disks {
		dev, err := blk.Open(d.Path, d.ReadOnly)
		if err != nil {
			return err
		}
		m.closers = append(m.closers, dev.Close)
		bar := uint64(pciMMIOBase + i*virtiopci.BARSize)
		t := virtiopci.New(dev, m.mem, msiSender{m.vm}, bar)
		if _, err := bus.Add(t); err != nil {
			return fmt.Errorf("disk %s: %w", d.Path, err)
		}
		if err := m.mmio.Register(fmt.Sprintf("virtio-blk %d", i), bar, virtiopci.BARSize, t); err != nil {
			return err
		}
	}
	return nil
}

// withPCICmdline makes Linux scan PCI bus 0 itself when there are PCI
// devices: vmm's ACPI tables describe no PCI host bridge, and with ACPI on,
// Linux would otherwise find no PCI bus at all. pci=lastbus=1 scans the
// buses ACPI did not report and keeps ACPI's interrupt set-up; pci=noacpi
// would also do the scan, but it ignores the MADT's IOAPIC, and the UART's
// IRQ 4 then never arrives. The devices use MSI-X, so they need no INTx
// routing.
func withPCICmdline(cmdline string, disks []Disk) string {
	if len(disks) == 0 || strings.Contains(cmdline, "pci=") {
		return cmdline
	}
	return strings.TrimSpace(cmdline + " pci=lastbus=1")
}
