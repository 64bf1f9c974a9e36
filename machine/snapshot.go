package machine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vmmlab/vmm/devices/virtio"
	"github.com/vmmlab/vmm/devices/virtio/transport/virtiopci"
	"github.com/vmmlab/vmm/kvm"
	"github.com/vmmlab/vmm/snapshot"
)

// snapshottable is a virtio transport whose state a snapshot can take
// (both transports are).
type snapshottable interface {
	Quiesce()
	Restart() error
	State() virtio.CoreState
}

// pciState is a transport with PCI state of its own.
type pciState interface {
	PCIState() virtiopci.State
}

// SnapshotTime says how long the parts of a snapshot took.
type SnapshotTime struct {
	Pause, State, Memory, Total time.Duration
	MemoryBytes                 int64 // guest RAM written (pages with data)
}

// Snapshot writes the machine into dir (new or empty): it pauses the
// vCPUs (if they run), lets the virtio devices finish the request under
// way and stops them, reads every vCPU, the in-kernel interrupt
// controllers, timer and clock, and the devices, writes guest RAM, and
// then lets everything go on as before, or with stayPaused leaves the
// vCPUs paused (the guest must not run on past the state saved). No
// pause, resume or other snapshot runs meanwhile (ErrBusy).
func (m *Machine) Snapshot(dir string, stayPaused bool) (SnapshotTime, error) {
	var t SnapshotTime
	start := time.Now()
	if err := m.snapshottable(); err != nil {
		return t, err
	}
	if err := m.life.begin("a snapshot"); err != nil {
		return t, err
	}
	defer m.life.done()
	if err := snapshot.Create(dir); err != nil {
		return t, fmt.Errorf("snapshot: %w", err)
	}
	if !m.Paused() {
		if err := m.pauseVCPUs(); err != nil {
			return t, err
		}
		if !stayPaused {
			defer m.resumeVCPUs()
		}
	} else if err := m.waitParked(); err != nil { // paused by holdVCPUs: some may still be on their way
		return t, err
	}
	var restarts []func() error
	for _, d := range m.virtio {
		s := d.t.(snapshottable)
		s.Quiesce()
		restarts = append(restarts, s.Restart)
	}
	defer func() {
		for _, r := range restarts {
			r()
		}
	}()
	t.Pause = time.Since(start)
	st, err := m.state()
	if err != nil {
		return t, fmt.Errorf("snapshot: %w", err)
	}
	t.State = time.Since(start) - t.Pause
	f, err := os.OpenFile(filepath.Join(dir, snapshot.MemoryFile), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return t, fmt.Errorf("snapshot: %w", err)
	}
	t.MemoryBytes, err = m.mem.SaveSparse(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return t, fmt.Errorf("snapshot: %w", err)
	}
	t.Memory = time.Since(start) - t.Pause - t.State
	if err := snapshot.Write(dir, m.manifest(), st); err != nil {
		return t, fmt.Errorf("snapshot: %w", err)
	}
	for _, c := range m.cpus {
		c.ClockPaused() // the guest's watchdogs learn the vCPU was stopped (best effort)
	}
	t.Total = time.Since(start)
	return t, nil
}

// snapshottable says why this machine cannot be snapshotted, if it cannot.
func (m *Machine) snapshottable() error {
	if m.cfg.Balloon != nil || m.cfg.Vsock != nil {
		return errors.New("snapshot: machines with virtio-balloon or virtio-vsock cannot be snapshotted yet")
	}
	if len(m.cfg.Pmem) > 0 {
		return errors.New("snapshot: machines with virtio-pmem (--pmem) cannot be snapshotted yet")
	}
	for _, d := range m.virtio {
		if _, ok := d.t.(snapshottable); !ok {
			return fmt.Errorf("snapshot: %s cannot be snapshotted", d.name)
		}
	}
	return nil
}

// state reads the paused machine's state.
func (m *Machine) state() (snapshot.State, error) {
	var s snapshot.State
	for _, c := range m.cpus {
		v, err := vcpuState(c, m.msrs)
		if err != nil {
			return s, err
		}
		s.VCPUs = append(s.VCPUs, v)
	}
	for _, id := range []uint32{kvm.ChipPICMaster, kvm.ChipPICSlave, kvm.ChipIOAPIC} {
		chip, err := m.vm.IRQChip(id)
		if err != nil {
			return s, err
		}
		s.IRQChips = append(s.IRQChips, chip)
	}
	var err error
	if s.PIT, err = m.vm.PIT2(); err != nil {
		return s, err
	}
	if s.Clock, err = m.vm.Clock(); err != nil {
		return s, err
	}
	m.applyCoalesced() // the PCI address the guest wrote last may still be queued
	s.Serial, s.RTC, s.PCIAddress = m.uart.State(), m.rtc.State(), m.pci.Address()
	for _, d := range m.virtio {
		vt := snapshot.VirtioTransport{Device: d.id, Core: d.t.(snapshottable).State()}
		if p, ok := d.t.(pciState); ok {
			ps := p.PCIState()
			vt.PCI = &ps
		}
		s.Virtio = append(s.Virtio, vt)
	}
	return s, nil
}

// vcpuState reads one stopped vCPU.
func vcpuState(c *kvm.VCPU, msrs []uint32) (v snapshot.VCPU, err error) {
	steps := []func() error{
		func() (err error) { v.MPState, err = c.MPState(); return },
		func() (err error) { v.Regs, err = c.Regs(); return },
		func() (err error) { v.Sregs, err = c.Sregs(); return },
		func() (err error) { v.XSave, err = c.XSave(); return },
		func() (err error) { v.XCRs, err = c.XCRs(); return },
		func() (err error) { v.DebugRegs, err = c.DebugRegs(); return },
		func() (err error) { v.LAPIC, err = c.LAPIC(); return },
		func() (err error) { v.MSRs, err = c.MSRList(msrs); return },
		func() (err error) { v.Events, err = c.Events(); return },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return v, err
		}
	}
	return v, nil
}

// manifest describes the machine for a restore.
func (m *Machine) manifest() snapshot.Manifest {
	c := m.cfg
	sc := snapshot.Config{MemSize: c.MemSize, CPUs: c.CPUs, Cmdline: m.cmdline, VirtioMMIO: c.VirtioMMIO, HugePages: int(c.HugePages)}
	for _, d := range c.Disks {
		disk := snapshot.Disk{Path: d.Path, ReadOnly: d.ReadOnly}
		if st, err := os.Stat(d.Path); err == nil {
			disk.Size = st.Size()
		}
		sc.Disks = append(sc.Disks, disk)
	}
	for i := range c.NICs {
		sc.NICs = append(sc.NICs, snapshot.NIC{MAC: m.nicMAC(i)})
	}
	if c.RNG != nil {
		rate := c.RNG.Rate
		sc.RNG = &rate
	}
	return snapshot.Manifest{VMM: c.Revision, Created: time.Now().UTC().Format(time.RFC3339),
		Host: snapshot.ThisHost(), Machine: sc, CPUID: m.cpuid0}
}

// nicMAC is the MAC of NIC i as the guest sees it (a random one if none
// was given).
func (m *Machine) nicMAC(i int) [6]byte {
	for _, d := range m.virtio {
		if d.id == (snapshot.Device{Kind: "virtio-net", Index: i}) {
			if n, ok := d.dev.(interface{ MAC() [6]byte }); ok {
				return n.MAC()
			}
		}
	}
	return m.cfg.NICs[i].MAC
}

// matchDevices tests that a snapshot's virtio devices are the machine's,
// in order, by kind and index (a display name may hold a disk's path,
// and a clone's disk may be elsewhere).
func matchDevices(snap []snapshot.VirtioTransport, here []snapshot.Device) error {
	var had, have []string
	for _, v := range snap {
		had = append(had, v.Device.String())
	}
	for _, d := range here {
		have = append(have, d.String())
	}
	if strings.Join(had, ", ") != strings.Join(have, ", ") {
		return fmt.Errorf("the snapshot has virtio devices [%s], the machine [%s]", strings.Join(had, ", "), strings.Join(have, ", "))
	}
	return nil
}
