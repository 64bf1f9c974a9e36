package machine

import (
	"fmt"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vmmlab/vmm/devices/pci"
	"github.com/vmmlab/vmm/devices/virtio"
	"github.com/vmmlab/vmm/devices/virtio/balloon"
	"github.com/vmmlab/vmm/devices/virtio/blk"
	"github.com/vmmlab/vmm/devices/virtio/netdev"
	"github.com/vmmlab/vmm/devices/virtio/rng"
	virtiommio "github.com/vmmlab/vmm/devices/virtio/transport/virtiommio"
	virtiopci "github.com/vmmlab/vmm/devices/virtio/transport/virtiopci"
	"github.com/vmmlab/vmm/devices/virtio/vsock"
	"github.com/vmmlab/vmm/kvm"
	"github.com/vmmlab/vmm/snapshot"
	"github.com/vmmlab/vmm/tap"
)

// RNG is the virtio-rng device: entropy from the host's getrandom(2).
type RNG struct {
	Rate uint64 // bytes per second the guest may take; 0: no limit
}

// Balloon is the virtio-balloon device: the guest gives back memory it
// freed (free page reporting) and, with a target, memory it is asked for.
type Balloon struct {
	Target uint64 // bytes the guest is asked to put into the balloon; 0: none
}

// Vsock is the virtio-vsock device: guest AF_VSOCK sockets reach host
// programs through the unix socket Path (see package vsock).
type Vsock struct {
	CID  uint64 // the guest's context ID
	Path string
}

// Disk is a virtio-blk disk to attach.
type Disk struct {
	Path     string
	ReadOnly bool
}

// NIC is a virtio-net interface to attach, backed by a TAP interface:
// either Tap names it (vmm attaches to it, or creates it given
// CAP_NET_ADMIN), or FD is an open TAP queue vmm takes over.
type NIC struct {
	Tap string
	FD  int // used when Tap is ""
	// MAC is the guest's address; all zeros picks a random locally
	// administered one.
	MAC [6]byte
}

// msiSender delivers a device's MSI through KVM.
type msiSender struct{ vm *kvm.VM }

func (s msiSender) SignalMSI(addr uint64, data uint32) error { return s.vm.SignalMSI(addr, data) }

// balloonStatsEvery is how often the balloon asks the guest for its
// memory statistics (reported in the run's device counters).
const balloonStatsEvery = 2 * time.Second

// virtioSpec is one configured virtio device: its name and how to make
// its backend (and what closes it).
type virtioSpec struct {
	id   snapshot.Device // kind and index, what a snapshot names it by
	name string          // for people: the id, and a disk's path
	open func(m *Machine) (virtio.Device, func() error, error)
}

// virtioDevices is the one list of the virtio devices a configuration
// asks for, in the order of their slots: both the device creation and the
// kernel command line (virtio-mmio names every device there) read it, so
// a device is never created without being announced, or the other way.
func (c Config) virtioDevices() []virtioSpec {
	var specs []virtioSpec
	for i, d := range c.Disks {
		specs = append(specs, virtioSpec{snapshot.Device{Kind: "virtio-blk", Index: i}, fmt.Sprintf("virtio-blk %d (%s)", i, d.Path), func(*Machine) (virtio.Device, func() error, error) {
			dev, err := blk.Open(d.Path, d.ReadOnly)
			if err != nil {
				return nil, nil, err
			}
			return dev, dev.Close, nil
		}})
	}
	for i, nic := range c.NICs {
		specs = append(specs, virtioSpec{snapshot.Device{Kind: "virtio-net", Index: i}, fmt.Sprintf("virtio-net %d", i), func(*Machine) (virtio.Device, func() error, error) {
			dev, err := openNIC(nic)
			if err != nil {
				return nil, nil, err
			}
			return dev, dev.Close, nil
		}})
	}
	if c.RNG != nil {
		rate := c.RNG.Rate
		specs = append(specs, virtioSpec{snapshot.Device{Kind: "virtio-rng"}, "virtio-rng", func(*Machine) (virtio.Device, func() error, error) {
			dev := rng.New(func(p []byte) (int, error) { return unix.Getrandom(p, 0) }, rate)
			return dev, dev.Close, nil
		}})
	}
	if c.Vsock != nil {
		cfg := vsock.Config{CID: c.Vsock.CID, Path: c.Vsock.Path}
		specs = append(specs, virtioSpec{snapshot.Device{Kind: "virtio-vsock"}, "virtio-vsock", func(*Machine) (virtio.Device, func() error, error) {
			dev, err := vsock.New(cfg)
			if err != nil {
				return nil, nil, err
			}
			return dev, dev.Close, nil
		}})
	}
	if c.Balloon != nil {
		pages := uint32(min(c.Balloon.Target/balloon.PageSize, 1<<32-1))
		specs = append(specs, virtioSpec{snapshot.Device{Kind: "virtio-balloon"}, "virtio-balloon", func(m *Machine) (virtio.Device, func() error, error) {
			dev := balloon.New(m.mem, pages, balloonStatsEvery)
			return dev, dev.Close, nil
		}})
	}
	for i, p := range c.Pmem {
		specs = append(specs, virtioSpec{snapshot.Device{Kind: "virtio-pmem", Index: i}, fmt.Sprintf("virtio-pmem %d (%s)", i, p.Path), func(m *Machine) (virtio.Device, func() error, error) {
			return m.openPmem(p)
		}})
	}
	return specs
}

// createVirtio puts the PCI bus on the port bus, then each configured
// virtio device on PCI (BAR0 on the MMIO bus) or, with VirtioMMIO, as a
// virtio-mmio device. Device backends are closed by Machine.Close.
func (m *Machine) createVirtio(c Config) error {
	bus := pci.NewBus()
	m.pci = bus
	if err := m.pio.Register("pci-conf1", pciConfigPort, pci.Ports, bus); err != nil {
		return err
	}
	m.note("The pci-conf1 answers port I/O %#x-%#x: PCI configuration mechanism #1 (address at 0xcf8, data at 0xcfc), a host bridge and the virtio-pci devices behind it.",
		pciConfigPort, pciConfigPort+pci.Ports-1)
	lines := map[uint32]*sharedLine{}
	add := func(slot int, id snapshot.Device, name string, dev virtio.Device) error {
		if c.VirtioMMIO {
			line, err := m.lineFor(mmioIRQs()[slot])
			if err != nil {
				return err
			}
			base := mmioBase + uint64(slot)*virtiommio.Size
			m.note("%s is a virtio-mmio device at %#x-%#x with IRQ %d, announced on the kernel command line (%s).",
				name, base, base+virtiommio.Size-1, mmioIRQs()[slot], virtiommio.CmdlineArg(base, mmioIRQs()[slot]))
			t := virtiommio.New(dev, m.mem, line)
			m.virtio = append(m.virtio, virtioDevice{id, name, t, dev})
			if err := m.mmio.Register(name, base, virtiommio.Size, t); err != nil {
				return err
			}
			return m.wireDoorbells(name, t, base)
		}
		bar := uint64(pciMMIOBase + slot*virtiopci.BARSize)
		t := virtiopci.New(dev, m.mem, msiSender{m.vm}, bar)
		m.virtio = append(m.virtio, virtioDevice{id, name, t, dev})
		gsi := intxIRQs()[slot%len(intxIRQs())]
		if lines[gsi] == nil {
			lines[gsi] = &sharedLine{vm: m.vm, gsi: gsi}
		}
		t.SetINTx(&pin{l: lines[gsi]}, uint8(gsi))
		pciSlot, err := bus.Add(t)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		m.note("%s is a virtio-pci device (00:%02x.0): its registers (BAR0) at %#x-%#x, interrupts by MSI-X, or INTx on GSI %d without it.",
			name, pciSlot, bar, bar+virtiopci.BARSize-1, gsi)
		if err := m.mmio.Register(name, bar, virtiopci.BARSize, t); err != nil {
			return err
		}
		return m.wireDoorbells(name, t, bar)
	}
	for slot, spec := range c.virtioDevices() {
		dev, closer, err := spec.open(m)
		if err != nil {
			return err
		}
		m.closers = append(m.closers, closer)
		if err := add(slot, spec.id, spec.name, dev); err != nil {
			return err
		}
	}
	return nil
}

// virtioDevice is a device's name and its transport, which knows whether
// the device gave up.
type virtioDevice struct {
	id   snapshot.Device
	name string
	t    interface{ Failure() error }
	dev  virtio.Device
}

// counting is a device that counts what it did (the balloon's reported
// and discarded bytes, the rng's bytes served).
type counting interface {
	Counters() map[string]uint64
}

// deviceCounters collects the counters of the devices that keep some, by
// device name.
func deviceCounters(devs []virtioDevice) map[string]map[string]uint64 {
	out := map[string]map[string]uint64{}
	for _, d := range devs {
		if c, ok := d.dev.(counting); ok {
			out[d.name] = c.Counters()
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// deviceFailures lists the devices that gave up during the run, each with
// its name and reason.
func deviceFailures(devs []virtioDevice) []string {
	var out []string
	for _, d := range devs {
		if err := d.t.Failure(); err != nil {
			out = append(out, d.name+": "+err.Error())
		}
	}
	return out
}

// openNIC opens the NIC's tap and makes its virtio-net device.
func openNIC(n NIC) (*netdev.Device, error) {
	var t *tap.Tap
	var err error
	if n.Tap != "" {
		t, err = tap.Open(tap.Device, n.Tap)
	} else {
		t, err = tap.FromFD(n.FD)
	}
	if err != nil {
		return nil, err
	}
	mac := n.MAC
	if mac == ([6]byte{}) {
		// getrandom(2) directly: crypto/rand would link the whole FIPS
		// module into vmm (300 KiB more binary that every VM maps).
		if _, err := unix.Getrandom(mac[:], 0); err != nil {
			t.Close()
			return nil, fmt.Errorf("random MAC address: %w", err)
		}
		mac[0] = mac[0]&^1 | 2 // unicast, locally administered
	}
	return netdev.New(t, mac), nil
}

// deviceCmdline adds what Linux needs to find the virtio devices. With
// virtio-mmio, each device is named on the command line
// (virtio_mmio.device=4K@ADDR:IRQ). With PCI, Linux must scan bus 0
// itself: vmm's ACPI tables describe no PCI host bridge, and with ACPI on,
// Linux would otherwise find no PCI bus at all. pci=lastbus=1 scans the
// buses ACPI did not report and keeps ACPI's interrupt set-up; pci=noacpi
// would also do the scan, but it ignores the MADT's IOAPIC, and the UART's
// IRQ 4 then never arrives. The PCI devices use MSI-X; without it (e.g.
// pci=nomsi) their INTA# goes to the ISA IRQ in the interrupt line
// register, which Linux uses when ACPI has no routing for the device.
func deviceCmdline(c Config) (string, error) {
	cmdline, n := c.Cmdline, len(c.virtioDevices())
	switch {
	case n == 0:
		return cmdline, nil
	case c.VirtioMMIO && n > len(mmioIRQs()):
		return "", fmt.Errorf("%d virtio-mmio devices: at most %d", n, len(mmioIRQs()))
	case c.VirtioMMIO:
		for i := range n {
			cmdline += " " + virtiommio.CmdlineArg(mmioBase+uint64(i)*virtiommio.Size, mmioIRQs()[i])
		}
	case !strings.Contains(cmdline, "lastbus=") && !strings.Contains(cmdline, "pci=off") && !strings.Contains(cmdline, "pci=noacpi"):
		cmdline += " pci=lastbus=1" // Linux takes each pci= option in turn
	}
	return strings.TrimSpace(cmdline), nil
}
