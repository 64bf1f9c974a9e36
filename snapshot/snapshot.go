// Package snapshot owns the on-disk form of a paused VM: a directory with
// manifest.json (versioned: what vmm, host CPU and machine configuration
// made it), state.json (every vCPU, the in-kernel interrupt controllers,
// timer and clock, and each device) and memory (guest RAM as a sparse
// file: the byte at guest address a at offset a). The manifest is written
// last and carries the size and digest of the other two, so a directory
// without one is an unfinished snapshot. The format is wire.go's structs,
// never the run-time types; testdata/v2 is a snapshot every later
// version must read or refuse by its version. Reading checks everything
// that can be checked before anything runs: a corrupt or truncated file
// is an error, never a half-restored guest.
package snapshot

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/vmmlab/vmm/devices/rtc"
	"github.com/vmmlab/vmm/devices/serial"
	"github.com/vmmlab/vmm/devices/virtio"
	"github.com/vmmlab/vmm/devices/virtio/transport/virtiopci"
	"github.com/vmmlab/vmm/kvm"
)

// Version is the format this vmm writes and reads (see wire.go).
const Version = 2

// Files of a snapshot directory.
const (
	ManifestFile = "manifest.json"
	StateFile    = "state.json"
	MemoryFile   = "memory"
)

// maxStateBytes bounds what Read accepts for state.json and the manifest.
const maxStateBytes = 64 << 20

// The types below are what vmm works with at run time. They are never
// encoded as they are: wire.go maps them to the format's own structs, so
// renaming a field here cannot change the format.

// Manifest says what made the snapshot and the machine to rebuild.
type Manifest struct {
	VMM     string // vmm's revision
	Created string // RFC 3339
	Host    Host
	Machine Config
	// CPUID is what vCPU 0 saw: a restore needs a host that gives the
	// same.
	CPUID []kvm.CPUIDEntry
	// Files are the directory's other files with their digests (filled
	// in by Write).
	Files []File
}

// Host identifies the CPU the snapshot was taken on.
type Host struct {
	Vendor string
	Model  string
}

// Config is the machine a restore rebuilds.
type Config struct {
	MemSize    uint64
	CPUs       int
	Cmdline    string // as the guest got it (devices announced)
	VirtioMMIO bool
	HugePages  int
	Disks      []Disk
	NICs       []NIC
	RNG        *uint64 // nil: no rng; else bytes/s (0: no limit)
}

// Disk is a disk the guest had: a restore is given one of the same size
// and read-only flag (Path is where it was, for messages).
type Disk struct {
	Path     string
	ReadOnly bool
	Size     int64
}

// NIC is a network interface the guest had: its MAC stays; the tap is
// the restore's.
type NIC struct {
	MAC [6]byte
}

// State is the machine's state.
type State struct {
	VCPUs      []VCPU
	IRQChips   []kvm.IRQChip
	PIT        kvm.PITState2
	Clock      kvm.ClockData
	Serial     serial.State
	RTC        rtc.State
	PCIAddress uint32
	Virtio     []VirtioTransport
}

// VCPU is one vCPU's state.
type VCPU struct {
	Regs      kvm.Regs
	Sregs     kvm.Sregs
	XSave     kvm.XSave
	XCRs      kvm.XCRs
	MSRs      []kvm.MSREntry
	LAPIC     kvm.LAPICState
	Events    kvm.VCPUEvents
	MPState   kvm.MPState
	DebugRegs kvm.DebugRegs
}

// Device identifies a virtio device by its kind ("virtio-blk") and its
// index among the devices of that kind, as the configuration lists them.
type Device struct {
	Kind  string
	Index int
}

func (d Device) String() string { return fmt.Sprintf("%s %d", d.Kind, d.Index) }

// VirtioTransport is one virtio device's transport state; PCI is set for
// a virtio-pci device.
type VirtioTransport struct {
	Device Device
	Core   virtio.CoreState
	PCI    *virtiopci.State
}

// Create makes dir (and its parents) for a new snapshot; a directory
// that exists must be empty: a restored VM may map the memory file of an
// earlier snapshot there, which must never change under it.
func Create(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if names, _ := f.Readdirnames(1); len(names) > 0 {
		return fmt.Errorf("%s is not empty: a snapshot goes into a new or empty directory", dir)
	}
	return nil
}

// Read reads and checks a snapshot directory's manifest and state: the
// format version, state.json's size and digest, every field's range.
// The memory file is checked when it is opened (CheckMemoryFile).
func Read(dir string) (Manifest, State, error) {
	m, err := readManifest(dir)
	if err != nil {
		return Manifest{}, State{}, fmt.Errorf("snapshot %s: %w", dir, err)
	}
	s, err := readState(dir, m)
	if err != nil {
		return m, s, fmt.Errorf("snapshot %s: state: %w", dir, err)
	}
	if err := Check(m, s); err != nil {
		return m, s, fmt.Errorf("snapshot %s: %w", dir, err)
	}
	return m, s, nil
}

// Check tests that manifest and state agree and are in range.
func Check(m Manifest, s State) error {
	c := m.Machine
	switch {
	case c.CPUs < 1 || c.CPUs > 255:
		return fmt.Errorf("%d vCPUs", c.CPUs)
	case c.MemSize < 16<<20 || c.MemSize > 1<<40 || c.MemSize%4096 != 0:
		return fmt.Errorf("memory size %d", c.MemSize)
	case len(s.VCPUs) != c.CPUs:
		return fmt.Errorf("state of %d vCPUs for a machine of %d", len(s.VCPUs), c.CPUs)
	case len(s.IRQChips) != 3:
		return fmt.Errorf("%d interrupt controllers, want 3", len(s.IRQChips))
	case len(m.CPUID) == 0:
		return errors.New("no CPUID")
	case len(s.Serial.RX) > 1<<16:
		return errors.New("serial input too long")
	}
	for i, chip := range s.IRQChips {
		if chip.ChipID != uint32(i) {
			return fmt.Errorf("interrupt controller %d has id %d", i, chip.ChipID)
		}
	}
	for i, v := range s.VCPUs {
		if len(v.MSRs) > 4096 {
			return fmt.Errorf("vCPU %d: %d MSRs", i, len(v.MSRs))
		}
	}
	return checkVirtio(s.Virtio)
}

// checkVirtio tests the devices' names and that their lists are in
// range (each transport checks its own values when it restores).
func checkVirtio(vs []VirtioTransport) error {
	if len(vs) > maxDevices {
		return fmt.Errorf("%d virtio devices", len(vs))
	}
	for i, v := range vs {
		switch {
		case v.Device.Kind == "" || v.Device.Index < 0 || v.Device.Index >= maxDevices:
			return fmt.Errorf("virtio device %d is %q", i, v.Device)
		case len(v.Core.Queues) > maxQueues:
			return fmt.Errorf("%s: %d queues", v.Device, len(v.Core.Queues))
		case v.PCI != nil && len(v.PCI.Table) > maxMSIX:
			return fmt.Errorf("%s: %d MSI-X entries", v.Device, len(v.PCI.Table))
		}
	}
	return nil
}

// Bounds on a snapshot's device lists, far above any machine vmm makes.
const (
	maxDevices = 256
	maxQueues  = 1024
	maxMSIX    = 2048
)

// ThisHost reads the CPU's vendor and model from /proc/cpuinfo.
func ThisHost() Host {
	var h Host
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch {
		case !ok:
		case k == "vendor_id" && h.Vendor == "":
			h.Vendor = v
		case k == "model name" && h.Model == "":
			h.Model = v
		}
	}
	return h
}
