package snapshot

import (
	"encoding/binary"
	"fmt"

	"github.com/vmmlab/vmm/devices/rtc"
	"github.com/vmmlab/vmm/devices/serial"
	"github.com/vmmlab/vmm/kvm"
)

// The format, version 2. Every name is spelled out here, for the file,
// and nowhere else: the run-time types may change freely as long as
// these map to them. The kernel's own structs (registers, the LAPIC
// page, the interrupt controllers, the timer, the clock...) travel as
// base64 blobs of exactly the kernel's bytes, little-endian; each is
// checked for its length when read.

// wireHead is what every version's manifest starts with.
type wireHead struct {
	Format  string `json:"format"`
	Version int    `json:"version"`
}

// formatName is the manifest's "format".
const formatName = "vmm-snapshot"

type wireManifest struct {
	Format  string      `json:"format"`
	Version int         `json:"version"`
	VMM     string      `json:"vmm"`
	Created string      `json:"created"`
	Host    wireHost    `json:"host"`
	Machine wireMachine `json:"machine"`
	CPUID   []wireCPUID `json:"cpuid"`
	Files   []wireFile  `json:"files"`
}

type wireHost struct {
	Vendor string `json:"vendor"`
	Model  string `json:"model"`
}

type wireMachine struct {
	MemSize    uint64     `json:"mem_size"`
	CPUs       int        `json:"cpus"`
	Cmdline    string     `json:"cmdline"`
	VirtioMMIO bool       `json:"virtio_mmio"`
	HugePages  int        `json:"huge_pages"`
	Disks      []wireDisk `json:"disks"`
	NICs       []wireNIC  `json:"nics"`
	RNGRate    *uint64    `json:"rng_rate"` // null: no rng; bytes/s, 0 no limit
}

type wireDisk struct {
	Path     string `json:"path"`
	ReadOnly bool   `json:"read_only"`
	Size     int64  `json:"size"`
}

type wireNIC struct {
	MAC string `json:"mac"` // "52:54:00:12:34:56"
}

type wireCPUID struct {
	Function uint32 `json:"function"`
	Index    uint32 `json:"index"`
	Flags    uint32 `json:"flags"`
	EAX      uint32 `json:"eax"`
	EBX      uint32 `json:"ebx"`
	ECX      uint32 `json:"ecx"`
	EDX      uint32 `json:"edx"`
}

type wireFile struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	Digest string `json:"digest"`
}

type wireState struct {
	VCPUs      []wireVCPU    `json:"vcpus"`
	IRQChips   []wireIRQChip `json:"irqchips"`
	PIT        []byte        `json:"pit"`   // struct kvm_pit_state2
	Clock      []byte        `json:"clock"` // struct kvm_clock_data
	Serial     wireSerial    `json:"serial"`
	RTC        wireRTC       `json:"rtc"`
	PCIAddress uint32        `json:"pci_address"`
	Virtio     []wireVirtio  `json:"virtio"`
}

type wireVCPU struct {
	Regs      []byte    `json:"regs"`  // struct kvm_regs
	Sregs     []byte    `json:"sregs"` // struct kvm_sregs
	XSave     []byte    `json:"xsave"` // struct kvm_xsave
	XCRs      []byte    `json:"xcrs"`  // struct kvm_xcrs
	MSRs      []wireMSR `json:"msrs"`
	LAPIC     []byte    `json:"lapic"`      // struct kvm_lapic_state
	Events    []byte    `json:"events"`     // struct kvm_vcpu_events
	MPState   uint32    `json:"mp_state"`   // KVM_MP_STATE_*
	DebugRegs []byte    `json:"debug_regs"` // struct kvm_debugregs
}

type wireMSR struct {
	Index uint32 `json:"index"`
	Data  uint64 `json:"data"`
}

type wireIRQChip struct {
	ID   uint32 `json:"id"`
	Chip []byte `json:"chip"` // the 512-byte union of struct kvm_irqchip
}

type wireSerial struct {
	IER         byte   `json:"ier"`
	LCR         byte   `json:"lcr"`
	MCR         byte   `json:"mcr"`
	SCR         byte   `json:"scr"`
	DLL         byte   `json:"dll"`
	DLM         byte   `json:"dlm"`
	FCR         byte   `json:"fcr"`
	RX          []byte `json:"rx"`
	THREPending bool   `json:"thre_pending"`
	Overrun     bool   `json:"overrun"`
}

type wireRTC struct {
	Index byte   `json:"index"`
	RAM   []byte `json:"ram"` // 128 bytes of CMOS RAM
}

// blob is a kernel struct's bytes.
func blob[T any](v T) []byte {
	b, err := binary.Append(nil, binary.LittleEndian, v)
	if err != nil {
		panic(fmt.Sprintf("snapshot: %T is not a fixed-size kernel struct: %v", v, err)) // a programming error
	}
	return b
}

// fromBlob reads a kernel struct back, refusing a blob of another size.
func fromBlob[T any](b []byte, what string, v *T) error {
	if n := binary.Size(*v); len(b) != n {
		return fmt.Errorf("%s: %d bytes, want %d", what, len(b), n)
	}
	_, err := binary.Decode(b, binary.LittleEndian, v)
	return err
}

// fromBytes copies b into a fixed array, refusing another length.
func fromBytes(dst []byte, b []byte, what string) error {
	if len(b) != len(dst) {
		return fmt.Errorf("%s: %d bytes, want %d", what, len(b), len(dst))
	}
	copy(dst, b)
	return nil
}

func manifestToWire(m Manifest) wireManifest {
	c := m.Machine
	w := wireManifest{Format: formatName, Version: Version, VMM: m.VMM, Created: m.Created,
		Host: wireHost(m.Host),
		Machine: wireMachine{MemSize: c.MemSize, CPUs: c.CPUs, Cmdline: c.Cmdline, VirtioMMIO: c.VirtioMMIO,
			HugePages: c.HugePages, RNGRate: c.RNG, Disks: []wireDisk{}, NICs: []wireNIC{}}}
	for _, d := range c.Disks {
		w.Machine.Disks = append(w.Machine.Disks, wireDisk(d))
	}
	for _, n := range c.NICs {
		m := n.MAC
		w.Machine.NICs = append(w.Machine.NICs, wireNIC{fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5])})
	}
	for _, e := range m.CPUID {
		w.CPUID = append(w.CPUID, wireCPUID{e.Function, e.Index, e.Flags, e.EAX, e.EBX, e.ECX, e.EDX})
	}
	for _, f := range m.Files {
		w.Files = append(w.Files, wireFile(f))
	}
	return w
}

func (w wireManifest) runtime() (Manifest, error) {
	if w.Format != formatName {
		return Manifest{}, fmt.Errorf("manifest: format %q, want %q", w.Format, formatName)
	}
	c := w.Machine
	m := Manifest{VMM: w.VMM, Created: w.Created, Host: Host(w.Host),
		Machine: Config{MemSize: c.MemSize, CPUs: c.CPUs, Cmdline: c.Cmdline, VirtioMMIO: c.VirtioMMIO, HugePages: c.HugePages, RNG: c.RNGRate}}
	for _, d := range c.Disks {
		m.Machine.Disks = append(m.Machine.Disks, Disk(d))
	}
	for _, n := range c.NICs {
		mac, err := parseMAC(n.MAC)
		if err != nil {
			return m, fmt.Errorf("manifest: %w", err)
		}
		m.Machine.NICs = append(m.Machine.NICs, NIC{mac})
	}
	for _, e := range w.CPUID {
		m.CPUID = append(m.CPUID, kvm.CPUIDEntry{Function: e.Function, Index: e.Index, Flags: e.Flags, EAX: e.EAX, EBX: e.EBX, ECX: e.ECX, EDX: e.EDX})
	}
	for _, f := range w.Files {
		m.Files = append(m.Files, File(f))
	}
	return m, nil
}

func stateToWire(s State) wireState {
	w := wireState{PIT: blob(s.PIT), Clock: blob(s.Clock), PCIAddress: s.PCIAddress,
		Serial: wireSerial{IER: s.Serial.IER, LCR: s.Serial.LCR, MCR: s.Serial.MCR, SCR: s.Serial.SCR, DLL: s.Serial.DLL,
			DLM: s.Serial.DLM, FCR: s.Serial.FCR, RX: s.Serial.RX, THREPending: s.Serial.THREPending, Overrun: s.Serial.Overrun},
		RTC: wireRTC{Index: s.RTC.Index, RAM: s.RTC.RAM[:]}, Virtio: []wireVirtio{}}
	for _, v := range s.VCPUs {
		wv := wireVCPU{Regs: blob(v.Regs), Sregs: blob(v.Sregs), XSave: blob(v.XSave), XCRs: blob(v.XCRs),
			LAPIC: blob(v.LAPIC), Events: blob(v.Events), MPState: v.MPState.State, DebugRegs: blob(v.DebugRegs), MSRs: []wireMSR{}}
		for _, e := range v.MSRs {
			wv.MSRs = append(wv.MSRs, wireMSR{e.Index, e.Data})
		}
		w.VCPUs = append(w.VCPUs, wv)
	}
	for _, c := range s.IRQChips {
		w.IRQChips = append(w.IRQChips, wireIRQChip{c.ChipID, c.Chip[:]})
	}
	for _, v := range s.Virtio {
		w.Virtio = append(w.Virtio, virtioToWire(v))
	}
	return w
}

func (w wireState) runtime() (State, error) {
	s := State{PCIAddress: w.PCIAddress, RTC: rtc.State{Index: w.RTC.Index},
		Serial: serial.State{IER: w.Serial.IER, LCR: w.Serial.LCR, MCR: w.Serial.MCR, SCR: w.Serial.SCR, DLL: w.Serial.DLL,
			DLM: w.Serial.DLM, FCR: w.Serial.FCR, RX: w.Serial.RX, THREPending: w.Serial.THREPending, Overrun: w.Serial.Overrun}}
	errs := []error{fromBlob(w.PIT, "pit", &s.PIT), fromBlob(w.Clock, "clock", &s.Clock), fromBytes(s.RTC.RAM[:], w.RTC.RAM, "rtc ram")}
	for i, wv := range w.VCPUs {
		v, err := wv.runtime()
		if err != nil {
			return s, fmt.Errorf("vCPU %d: %w", i, err)
		}
		s.VCPUs = append(s.VCPUs, v)
	}
	for _, c := range w.IRQChips {
		chip := kvm.IRQChip{ChipID: c.ID}
		errs = append(errs, fromBytes(chip.Chip[:], c.Chip, "irqchip"))
		s.IRQChips = append(s.IRQChips, chip)
	}
	for i, wv := range w.Virtio {
		v, err := wv.runtime()
		if err != nil {
			return s, fmt.Errorf("virtio device %d: %w", i, err)
		}
		s.Virtio = append(s.Virtio, v)
	}
	return s, firstError(errs)
}

func (w wireVCPU) runtime() (VCPU, error) {
	v := VCPU{MPState: kvm.MPState{State: w.MPState}}
	for _, e := range w.MSRs {
		v.MSRs = append(v.MSRs, kvm.MSREntry{Index: e.Index, Data: e.Data})
	}
	return v, firstError([]error{
		fromBlob(w.Regs, "regs", &v.Regs), fromBlob(w.Sregs, "sregs", &v.Sregs), fromBlob(w.XSave, "xsave", &v.XSave),
		fromBlob(w.XCRs, "xcrs", &v.XCRs), fromBlob(w.LAPIC, "lapic", &v.LAPIC), fromBlob(w.Events, "events", &v.Events),
		fromBlob(w.DebugRegs, "debug_regs", &v.DebugRegs)})
}

func firstError(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
