// Package machine assembles a virtual machine from the pieces below it:
// KVM handles, guest memory, the boot plan, ACPI tables, the port bus and
// its devices; it then runs the vCPUs and reports how the guest ended.
package machine

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/vmmlab/vmm/acpi"
	"github.com/vmmlab/vmm/boot"
	"github.com/vmmlab/vmm/bus"
	"github.com/vmmlab/vmm/devices/boottimer"
	"github.com/vmmlab/vmm/devices/exitstatus"
	"github.com/vmmlab/vmm/devices/i8042"
	"github.com/vmmlab/vmm/devices/pci"
	"github.com/vmmlab/vmm/devices/power"
	"github.com/vmmlab/vmm/devices/rtc"
	"github.com/vmmlab/vmm/devices/serial"
	"github.com/vmmlab/vmm/kvm"
	"github.com/vmmlab/vmm/memory"
)

// Config is a machine to build.
type Config struct {
	Device string // KVM device node; "" means /dev/kvm
	Kernel []byte // a bzImage, or an ELF vmlinux with a PVH entry point
	Initrd []byte // optional
	// InitrdFile, instead of Initrd, is read straight into guest memory
	// (no copy in vmm's heap); InitrdSize is its size.
	InitrdFile io.ReaderAt
	InitrdSize int64
	Cmdline    string
	MemSize    uint64
	CPUs       int
	Disks      []Disk   // virtio-blk disks on the PCI bus
	NICs       []NIC    // virtio-net interfaces on the PCI bus
	RNG        *RNG     // a virtio-rng device, when set
	Vsock      *Vsock   // a virtio-vsock device, when set
	Balloon    *Balloon // a virtio-balloon device, when set
	Pmem       []Pmem   // virtio-pmem windows, above RAM
	// VirtioMMIO puts the disks and NICs on virtio-mmio instead of PCI
	// (for kernels without PCI; they must have
	// CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES).
	VirtioMMIO bool
	Console    io.Writer // guest serial output
	// HugePages is guest RAM's transparent huge page policy.
	HugePages memory.HugePages
	// Mergeable offers guest RAM to the host's same-page merging (KSM).
	Mergeable bool
	// Start is when vmm started; the boot timer measures from it.
	Start time.Time
	// OnBooted, if set, is called (on a vCPU's thread: it must not block)
	// when the guest writes the boot timer.
	OnBooted func(time.Duration)
	// PauseWhenBooted pauses the machine at the guest's boot-timer write:
	// the vCPU that wrote it parks before it runs the guest again, the
	// others when kicked. A snapshot then holds the guest as it was at
	// that write (--snapshot-on-ready), not some instructions later.
	PauseWhenBooted bool
	// Revision is vmm's, written into snapshots.
	Revision string
	// Tracer, if set, records the run's timeline.
	Tracer Tracer
	// memoryFile, set by Restore, backs guest RAM (a snapshot's memory).
	memoryFile *os.File
}

const (
	// MaxCPUs is the largest --cpus this machine model supports.
	MaxCPUs = 255
	// MinMemory is the smallest guest RAM accepted.
	MinMemory = 16 << 20
)

// Machine is a built, not yet running, virtual machine.
type Machine struct {
	sys   *kvm.System
	vm    *kvm.VM
	mem   *memory.Guest
	cpus  []*kvm.VCPU
	pio   bus.Bus
	mmio  bus.Bus
	uart  *serial.UART
	timer *boottimer.Timer
	exit  exitstatus.Status
	ev    *events
	setup time.Duration
	start time.Time // Config.Start
	steps []Step    // when each part of New was done
	exits exitCounts
	pause *pauser
	// What a snapshot needs: the configuration (without kernel and
	// initramfs), the command line as the guest got it, the devices with
	// state, the MSRs KVM lists, and the CPUID vCPU 0 got.
	cfg     Config
	cmdline string
	rtc     *rtc.CMOS
	pci     *pci.Bus
	msrs    []uint32
	cpuid0  []kvm.CPUIDEntry
	// KVM's statistics files (openKVMStats)
	vmStats  *kvm.Stats
	cpuStats []*kvm.Stats
	statsErr error
	facts    []string    // what Explain tells
	restored bool        // built by Restore: the guest booted before the snapshot
	ws       *workingSet // a restore's working set (nil for a boot)
	tr       Tracer
	// closers release device backends (disk files, taps) and their
	// eventfds at Close, in reverse order.
	closers []func() error
	virtio  []virtioDevice // for the failures the run reports
	// coalesced applies the port writes KVM queued without an exit.
	coalesced coalescer
	life      lifecycle // pause, resume, snapshot and the run's end, one at a time
	// Where the next virtio-pmem window goes, and how many are mapped.
	pmemNext    uint64
	pmemWindows int
}

// New builds the machine. Any error leaves nothing open.
func New(c Config) (m *Machine, err error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	ram := boot.RAMRanges(c.MemSize)
	cmdline, err := deviceCmdline(c)
	if err != nil {
		return nil, err
	}
	plan, err := boot.Load(c.Kernel, boot.Config{RAM: ram, Cmdline: cmdline, InitrdSize: c.initrdSize(), RSDPAddr: acpiBase})
	if err != nil {
		return nil, fmt.Errorf("kernel: %w", err)
	}
	tables, err := acpi.Build(acpiBase, acpi.Config{CPUs: c.CPUs, IOAPICAddr: ioapicAddr, LAPICAddr: lapicAddr,
		PMPort: powerPort, ResetPort: powerPort + 6, ResetValue: resetValue, SCI: sciIRQ, VMGenID: vmgenidConfig()})
	if err != nil {
		return nil, err
	}
	if acpiBase+uint64(len(tables)) > vmgenidAddr {
		return nil, fmt.Errorf("the ACPI tables (%d bytes) overlap the VM generation ID at %#x", len(tables), vmgenidAddr)
	}

	m = &Machine{ev: newEvents(), pause: newPauser(c.CPUs), cmdline: cmdline, tr: c.Tracer}
	m.cfg = c
	m.cfg.Kernel, m.cfg.Initrd, m.cfg.InitrdFile = nil, nil, nil
	defer func() {
		if err != nil {
			m.Close()
			m = nil
		}
	}()
	explain := map[string]func(){ // what --explain tells, in the order it happened
		"platform": func() { m.explainPlatform(c.Device) },
		"memory":   func() { m.explainMemory(plan.E820) },
		"load":     func() { m.explainLoad(plan, c.initrdSize(), len(tables)) },
		"devices":  m.explainDevices,
		"vcpus":    func() { m.explainVCPUs(&plan.Entry) },
	}
	err = m.build(c, explain,
		buildStep{"load", func() error { return m.load(plan, c, tables) }},
		buildStep{"devices", func() error { return m.createDevices(c) }},
		buildStep{"virtio", func() error { return m.createVirtio(c) }},
		buildStep{"vcpus", func() error { return m.createVCPUs(c.CPUs, &plan.Entry) }})
	if err != nil {
		return m, err
	}
	m.setup = time.Since(c.Start)
	m.start = c.Start
	return m, nil
}

func (m *Machine) createPlatform() error {
	if err := m.vm.SetTSSAddr(tssAddr); err != nil {
		return err
	}
	if err := m.vm.SetIdentityMapAddr(identityMap); err != nil {
		return err
	}
	if err := m.vm.CreateIRQChip(); err != nil {
		return err
	}
	return m.vm.CreatePIT2(kvm.PITSpeakerDummy)
}

// spans are the guest RAM ranges of a machine with size bytes of RAM.
func spans(size uint64) []memory.Span {
	ram := boot.RAMRanges(size)
	s := make([]memory.Span, len(ram))
	for i, r := range ram {
		s[i] = memory.Span{Base: r.Start, Size: r.Size}
	}
	return s
}

func (m *Machine) createMemory(c Config) error {
	var err error
	if m.mem, err = memory.Map(spans(c.MemSize)...); err != nil {
		return err
	}
	if err := m.mem.SetHugePages(c.HugePages); err != nil {
		return err
	}
	if c.Mergeable {
		if err := m.mem.SetMergeable(); err != nil {
			return err
		}
	}
	return m.registerMemory()
}

// registerMemory gives KVM guest RAM, one slot per region.
func (m *Machine) registerMemory() error {
	for i, r := range m.mem.Regions() {
		if err := m.vm.SetUserMemoryRegion(kvm.MemoryRegion{Slot: uint32(i), GuestPhys: r.Base, Memory: r.Data}); err != nil {
			return err
		}
	}
	return nil
}

func (m *Machine) load(plan *boot.Plan, c Config, tables []byte) error {
	for _, ch := range plan.Chunks {
		if err := m.mem.Write(ch.Addr, ch.Data); err != nil {
			return fmt.Errorf("load boot data at %#x: %w", ch.Addr, err)
		}
	}
	if err := m.loadInitrd(plan.InitrdAddr, c); err != nil {
		return fmt.Errorf("load initrd: %w", err)
	}
	if err := m.mem.Write(acpiBase, tables); err != nil {
		return fmt.Errorf("load ACPI tables: %w", err)
	}
	return m.writeGenerationID()
}

// initrdSize is the initramfs's size in bytes (0 for none).
func (c Config) initrdSize() uint64 {
	if c.InitrdFile != nil {
		return uint64(c.InitrdSize)
	}
	return uint64(len(c.Initrd))
}

// loadInitrd puts the initramfs at addr: read from its file straight into
// guest memory, or copied from Config.Initrd.
func (m *Machine) loadInitrd(addr uint64, c Config) error {
	n := c.initrdSize()
	if n == 0 {
		return nil
	}
	if c.InitrdFile == nil {
		return m.mem.Write(addr, c.Initrd)
	}
	dst, err := m.mem.Slice(addr, n)
	if err != nil {
		return err
	}
	if _, err := c.InitrdFile.ReadAt(dst, 0); err != nil {
		return fmt.Errorf("read %d bytes: %w", n, err)
	}
	return nil
}

// irqLine pulses a GSI: the ISA devices here are edge-triggered.
type irqLine struct {
	vm  *kvm.VM
	gsi uint32
}

func (l irqLine) Trigger() error {
	if err := l.vm.SetIRQLine(l.gsi, true); err != nil {
		return err
	}
	return l.vm.SetIRQLine(l.gsi, false)
}

func (m *Machine) createDevices(c Config) error {
	m.uart = serial.New(c.Console, irqLine{m.vm, serialIRQ})
	m.rtc = rtc.New(nil)
	// The callback lives as long as the machine: it takes the two fields
	// it needs, not c, whose Kernel (megabytes) would stay on the heap.
	start, onBooted, pause := c.Start, c.OnBooted, c.PauseWhenBooted
	m.timer = boottimer.New(start, func(d time.Duration) {
		if pause {
			m.holdVCPUs()
		}
		if m.tr != nil {
			m.tr.Mark("boot", "init (boot timer)", start.Add(d))
		}
		if onBooted != nil {
			onBooted(d)
		}
	})
	reg := []struct {
		name       string
		base, size uint64
		dev        bus.Device
	}{
		{"serial", serialPort, 8, m.uart},
		{"i8042", i8042Port, 5, i8042.New(func() { m.ev.stop(Event{Kind: Reset, Detail: "guest reset through the keyboard controller"}) })},
		{"rtc", rtcPort, 2, m.rtc},
		{"boot-timer", bootTimerPort, 1, m.timer},
		{"exit-status", exitStatusPort, 1, &m.exit},
		{"power", powerPort, power.Size, power.New(acpi.SleepTypeS5, resetValue,
			func() { m.ev.stop(Event{Kind: PowerOff, Detail: "guest powered off"}) },
			func() { m.ev.stop(Event{Kind: Reset, Detail: "guest reset through ACPI"}) })},
	}
	for _, r := range reg {
		if err := m.pio.Register(r.name, r.base, r.size, r.dev); err != nil {
			return err
		}
	}
	return nil
}

func (m *Machine) createVCPUs(n int, entry *boot.Entry) error {
	cpuid, err := m.sys.SupportedCPUID()
	if err != nil {
		return err
	}
	deadline, err := m.vm.CheckExtension(kvm.CapTSCDeadline)
	if err != nil {
		return err
	}
	m.cpuid0 = CPUID(cpuid, 0, n, deadline > 0)
	if m.msrs, err = m.sys.MSRIndexList(); err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		c, err := m.vm.CreateVCPU(i)
		if err != nil {
			return err
		}
		m.cpus = append(m.cpus, c)
		e := entry
		if i != 0 {
			e = nil
		}
		if err := setupVCPU(c, cpuid, n, deadline > 0, e); err != nil {
			return fmt.Errorf("set up vCPU %d: %w", i, err)
		}
	}
	m.openKVMStats()
	return m.coalescePCIAddress()
}

// Input feeds console input to the guest's serial port; it waits while the
// guest is not reading, and fails once the machine has stopped.
func (m *Machine) Input(p []byte) error { return m.uart.Input(p) }

// Step is a part of building the machine and when it was done, since
// Config.Start (the bench and `--json` show where set-up time goes).
type Step struct {
	Name string
	At   time.Duration
}

// SetupSteps are the parts of New in order, each with its end time.
func (m *Machine) SetupSteps() []Step { return append([]Step(nil), m.steps...) }

// SetupTime is how long building the machine took, from Config.Start.
func (m *Machine) SetupTime() time.Duration { return m.setup }

// Close releases every resource. It is safe on a partly built machine.
func (m *Machine) Close() error {
	var errs []error
	if m.uart != nil {
		m.uart.Close()
	}
	for i := len(m.closers) - 1; i >= 0; i-- { // last set up, first undone
		errs = append(errs, m.closers[i]())
	}
	m.closers = nil
	errs = append(errs, m.closeKVMStats())
	for _, c := range m.cpus {
		errs = append(errs, c.Close())
	}
	m.cpus = nil
	if m.vm != nil {
		errs = append(errs, m.vm.Close())
	}
	if m.mem != nil {
		errs = append(errs, m.mem.Close())
	}
	if m.sys != nil {
		errs = append(errs, m.sys.Close())
	}
	return errors.Join(errs...)
}
