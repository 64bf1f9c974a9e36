package machine

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"time"

	"github.com/vmmlab/vmm/devices/virtio"
	"github.com/vmmlab/vmm/devices/virtio/transport/virtiopci"
	"github.com/vmmlab/vmm/kvm"
	"github.com/vmmlab/vmm/memory"
	"github.com/vmmlab/vmm/snapshot"
)

// RestoreConfig is what a restore needs besides the snapshot.
type RestoreConfig struct {
	Device string // KVM device node
	// Disks are the guest's disks, one for each the snapshot names, in
	// order: a snapshot never chooses the host files it gets. Each must
	// have the size and read-only flag the guest knew.
	Disks []Disk
	// NICs are the network interfaces, one for each the snapshot's guest
	// had, in order: new taps; each keeps the MAC the guest knows.
	NICs     []NIC
	Console  io.Writer
	Start    time.Time
	OnBooted func(time.Duration)
	Revision string
	Tracer   Tracer
	// WorkingSet is what the restore does with the snapshot's working
	// set: prefetch it (auto, on), ignore it (off), or record one.
	WorkingSet WorkingSetMode
}

// The transports a restore can put state into.
type (
	mmioRestorable interface {
		Restore(virtio.CoreState) error
	}
	pciRestorable interface {
		Restore(virtio.CoreState, virtiopci.State) error
	}
)

// Restore rebuilds the machine a snapshot directory holds, ready to Run
// from where it was paused. Guest RAM maps the snapshot's memory file
// copy-on-write. Anything that does not fit (another CPU, a disk or NIC
// too few or too many, a disk of another size, a corrupt file, a machine
// New would refuse) is an error before a vCPU runs; the devices given
// that do not fit the snapshot are ErrRestoreMismatch.
func Restore(dir string, rc RestoreConfig) (m *Machine, err error) {
	man, st, err := snapshot.Read(dir)
	if err != nil {
		return nil, err
	}
	if h := snapshot.ThisHost(); h != man.Host {
		return nil, fmt.Errorf("snapshot %s was taken on %s %q; this host is %s %q", dir, man.Host.Vendor, man.Host.Model, h.Vendor, h.Model)
	}
	c, err := restoredConfig(man.Machine, rc)
	if err == nil {
		err = c.validate()
	}
	if err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", dir, err)
	}
	memFile, err := openMemoryFile(filepath.Join(dir, snapshot.MemoryFile), man)
	if err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", dir, err)
	}
	defer memFile.Close() // the mapping keeps what it needs
	m = &Machine{ev: newEvents(), pause: newPauser(c.CPUs), cmdline: man.Machine.Cmdline, cfg: c, tr: rc.Tracer, restored: true}
	defer func() {
		if err != nil {
			m.Close()
			m = nil
		}
	}()
	c.memoryFile = memFile
	if m.ws, err = openWorkingSet(dir, rc.WorkingSet); err != nil {
		return m, fmt.Errorf("restore %s: %w", dir, err)
	}
	m.closers = append(m.closers, m.ws.close)
	err = m.build(c, nil,
		buildStep{"prefetch", func() error { m.ws.prefetch(dir, m.mem); return nil }},
		buildStep{"devices", func() error { return m.createDevices(c) }},
		buildStep{"virtio", func() error { return m.createVirtio(c) }},
		buildStep{"vcpus", func() error { return m.createVCPUs(c.CPUs, nil) }},
		buildStep{"state", func() error { return m.restoreState(man, st) }},
		buildStep{"vmgenid", m.changeGenerationID})
	if err != nil {
		return m, fmt.Errorf("restore %s: %w", dir, err)
	}
	m.setup = time.Since(c.Start)
	m.start = c.Start
	return m, nil
}

// restoredConfig is the machine configuration of a snapshot, with the
// restore's disks, NICs and console.
func restoredConfig(sc snapshot.Config, rc RestoreConfig) (Config, error) {
	c := Config{Device: rc.Device, Cmdline: sc.Cmdline, MemSize: sc.MemSize, CPUs: sc.CPUs, VirtioMMIO: sc.VirtioMMIO,
		HugePages: memory.HugePages(sc.HugePages), Console: rc.Console, Start: rc.Start, OnBooted: rc.OnBooted, Revision: rc.Revision}
	if len(rc.Disks) != len(sc.Disks) {
		return c, fmt.Errorf("%w: the guest had %d disks; give as many --disk, in order (%d given)", ErrRestoreMismatch, len(sc.Disks), len(rc.Disks))
	}
	for i, d := range rc.Disks {
		if err := fitDisk(d, sc.Disks[i], i); err != nil {
			return c, err
		}
		c.Disks = append(c.Disks, d)
	}
	if len(rc.NICs) != len(sc.NICs) {
		return c, fmt.Errorf("%w: the guest had %d network interfaces; give as many --net (%d given)", ErrRestoreMismatch, len(sc.NICs), len(rc.NICs))
	}
	for i, n := range rc.NICs {
		n.MAC = sc.NICs[i].MAC
		c.NICs = append(c.NICs, n)
	}
	if sc.RNG != nil {
		c.RNG = &RNG{Rate: *sc.RNG}
	}
	return c, nil
}

// openMemoryFile opens a snapshot's memory file, which the restored
// guest's RAM maps for as long as it runs: one that users other than its
// owner may write is refused (a change under the guest stops it).
func openMemoryFile(path string, man snapshot.Manifest) (*os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err == nil && st.Mode().Perm()&0o022 != 0 {
		err = fmt.Errorf("%s is writable by others than its owner (mode %v): the guest's RAM maps it while it runs", path, st.Mode().Perm())
	}
	if err == nil {
		err = snapshot.CheckMemoryFile(f, man)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// fitDisk checks that disk i given to a restore is what the guest had:
// the same size and read-only flag (its contents are the user's word).
func fitDisk(d Disk, had snapshot.Disk, i int) error {
	st, err := os.Stat(d.Path)
	switch {
	case err != nil:
		return fmt.Errorf("%w: disk %d: %w", ErrRestoreMismatch, i, err)
	case st.Size() != had.Size:
		return fmt.Errorf("%w: disk %d (%s) has %d bytes; the guest's had %d", ErrRestoreMismatch, i, d.Path, st.Size(), had.Size)
	case d.ReadOnly != had.ReadOnly:
		return fmt.Errorf("%w: disk %d (%s): read-only %v; the guest's was %v (add or drop ,ro)", ErrRestoreMismatch, i, d.Path, d.ReadOnly, had.ReadOnly)
	}
	return nil
}

// mapMemoryFile maps guest RAM from a snapshot's memory file.
func (m *Machine) mapMemoryFile(f *os.File, c Config) error {
	var err error
	if m.mem, err = memory.MapFile(f, spans(c.MemSize)...); err != nil {
		return err
	}
	m.mem.OnFault(m.memoryLost)
	if err := m.mem.SetHugePages(c.HugePages); err != nil {
		return err
	}
	return m.registerMemory()
}

// restoreState puts the snapshot's state into the built machine: the
// interrupt controllers and timer, every vCPU, the devices, and last the
// clock.
func (m *Machine) restoreState(man snapshot.Manifest, st snapshot.State) error {
	if !reflect.DeepEqual(man.CPUID, m.cpuid0) {
		return errors.New("this host's KVM gives the guest another CPUID than the snapshot's: a guest kernel would misbehave")
	}
	var here []snapshot.Device
	for _, d := range m.virtio {
		here = append(here, d.id)
	}
	if err := matchDevices(st.Virtio, here); err != nil {
		return err
	}
	for _, chip := range st.IRQChips {
		if err := m.vm.SetIRQChip(chip); err != nil {
			return err
		}
	}
	if err := m.vm.SetPIT2(st.PIT); err != nil {
		return err
	}
	for i, c := range m.cpus {
		if err := setVCPUState(c, st.VCPUs[i]); err != nil {
			return err
		}
	}
	m.uart.Restore(st.Serial)
	m.rtc.Restore(st.RTC)
	m.pci.SetAddress(st.PCIAddress)
	for i, d := range m.virtio {
		var err error
		switch t := d.t.(type) {
		case pciRestorable:
			if st.Virtio[i].PCI == nil {
				return fmt.Errorf("%s: the snapshot has no PCI state for it", d.name)
			}
			err = t.Restore(st.Virtio[i].Core, *st.Virtio[i].PCI)
		case mmioRestorable:
			err = t.Restore(st.Virtio[i].Core)
		default:
			err = errors.New("its transport cannot be restored")
		}
		if err != nil {
			return fmt.Errorf("%s: %w", d.name, err)
		}
	}
	return m.vm.SetClock(st.Clock)
}

// setVCPUState puts one vCPU's state back, in the order KVM needs:
// special registers (APIC base) before the LAPIC, MSRs (the TSC) before
// the pending events.
func setVCPUState(c *kvm.VCPU, v snapshot.VCPU) error {
	for _, step := range []func() error{
		func() error { return c.SetMPState(v.MPState) },
		func() error { return c.SetRegs(v.Regs) },
		func() error { return c.SetSregs(v.Sregs) },
		func() error { return c.SetXSave(v.XSave) },
		func() error { return c.SetXCRs(v.XCRs) },
		func() error { return c.SetDebugRegs(v.DebugRegs) },
		func() error { return c.SetLAPIC(v.LAPIC) },
		func() error { return c.SetMSRs(v.MSRs...) },
		func() error { return c.SetEvents(v.Events) },
	} {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}
