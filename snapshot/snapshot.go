// Package snapshot owns the on-disk form of a paused VM: a directory with
// manifest.json (versioned: what vmm, host CPU and machine configuration
// made it), state.json (every vCPU, the in-kernel interrupt controllers,
// timer and clock, and each device) and memory (guest RAM as a sparse
// file: the byte at guest address a at offset a). The manifest is written
// last, so a directory without one is an unfinished snapshot. Reading
// checks everything that can be checked before anything runs: a corrupt
// or truncated file is an error, never a half-restored guest.
package snapshot

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/vmmlab/vmm/devices/rtc"
	"github.com/vmmlab/vmm/devices/serial"
	"github.com/vmmlab/vmm/devices/virtio"
	"github.com/vmmlab/vmm/devices/virtio/transport/virtiopci"
	"github.com/vmmlab/vmm/kvm"
)

// Version is the format this vmm writes and reads.
const Version = 1

// Files of a snapshot directory.
const (
	ManifestFile = "manifest.json"
	StateFile    = "state.json"
	MemoryFile   = "memory"
)

// maxStateBytes bounds what Read accepts for state.json and the manifest.
const maxStateBytes = 64 << 20

// Manifest says what made the snapshot and the machine to rebuild.
type Manifest struct {
	Version int    `json:"version"`
	VMM     string `json:"vmm"`     // vmm's revision
	Created string `json:"created"` // RFC 3339
	Host    Host   `json:"host"`
	Machine Config `json:"machine"`
	// CPUID is what vCPU 0 saw: a restore needs a host that gives the
	// same.
	CPUID []kvm.CPUIDEntry `json:"cpuid"`
}

// Host identifies the CPU the snapshot was taken on.
type Host struct {
	Vendor string `json:"vendor"`
	Model  string `json:"model"`
}

// Config is the machine a restore rebuilds.
type Config struct {
	MemSize    uint64  `json:"mem_size"`
	CPUs       int     `json:"cpus"`
	Cmdline    string  `json:"cmdline"` // as the guest got it (devices announced)
	VirtioMMIO bool    `json:"virtio_mmio"`
	HugePages  int     `json:"huge_pages"`
	Disks      []Disk  `json:"disks,omitempty"`
	NICs       []NIC   `json:"nics,omitempty"`
	RNG        *uint64 `json:"rng_rate,omitempty"` // nil: no rng; else bytes/s (0: no limit)
}

// Disk is a disk the guest had, and how to tell it was not changed.
type Disk struct {
	Path     string `json:"path"`
	ReadOnly bool   `json:"read_only"`
	Size     int64  `json:"size"`
	ModTime  int64  `json:"mtime_ns"`
}

// NIC is a network interface the guest had: its MAC stays; the tap is
// the restore's.
type NIC struct {
	MAC [6]byte `json:"mac"`
}

// State is the machine's state.
type State struct {
	VCPUs      []VCPU            `json:"vcpus"`
	IRQChips   []kvm.IRQChip     `json:"irqchips"`
	PIT        kvm.PITState2     `json:"pit"`
	Clock      kvm.ClockData     `json:"clock"`
	Serial     serial.State      `json:"serial"`
	RTC        rtc.State         `json:"rtc"`
	PCIAddress uint32            `json:"pci_address"`
	Virtio     []VirtioTransport `json:"virtio"`
}

// VCPU is one vCPU's state.
type VCPU struct {
	Regs      kvm.Regs       `json:"regs"`
	Sregs     kvm.Sregs      `json:"sregs"`
	XSave     kvm.XSave      `json:"xsave"`
	XCRs      kvm.XCRs       `json:"xcrs"`
	MSRs      []kvm.MSREntry `json:"msrs"`
	LAPIC     kvm.LAPICState `json:"lapic"`
	Events    kvm.VCPUEvents `json:"events"`
	MPState   kvm.MPState    `json:"mp_state"`
	DebugRegs kvm.DebugRegs  `json:"debug_regs"`
}

// VirtioTransport is one virtio device's transport state, by the
// device's name in the machine; PCI is set for a virtio-pci device.
type VirtioTransport struct {
	Name string           `json:"name"`
	Core virtio.CoreState `json:"core"`
	PCI  *virtiopci.State `json:"pci,omitempty"`
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

// WriteJSON writes v as file name in dir and syncs it.
func WriteJSON(dir, name string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// readJSON reads file name of dir into v, strictly: unknown fields, a
// second value or trailing bytes are errors.
func readJSON(dir, name string, v any) error {
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		return err
	}
	defer f.Close()
	return decode(io.LimitReader(f, maxStateBytes+1), v)
}

func decode(r io.Reader, v any) error {
	d := json.NewDecoder(r)
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return errors.New("trailing data")
	}
	return nil
}

// Read reads and checks a snapshot directory's manifest and state (the
// memory file is checked when it is mapped).
func Read(dir string) (Manifest, State, error) {
	var m Manifest
	var s State
	if err := readJSON(dir, ManifestFile, &m); err != nil {
		return m, s, fmt.Errorf("snapshot %s: manifest: %w (an unfinished or corrupt snapshot)", dir, err)
	}
	if m.Version != Version {
		return m, s, fmt.Errorf("snapshot %s: format version %d, this vmm reads version %d", dir, m.Version, Version)
	}
	if err := readJSON(dir, StateFile, &s); err != nil {
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
	return nil
}

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
