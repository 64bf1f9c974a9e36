package machine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/vmmlab/vmm/devices/virtio"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/vmmlab/vmm/boot"
	"github.com/vmmlab/vmm/internal/testkernel"
	"github.com/vmmlab/vmm/kvm"
)

func TestNewRejectsBadConfig(t *testing.T) {
	good := Config{Kernel: testkernel.BzImage(testkernel.PowerOff, 0), MemSize: 64 << 20, CPUs: 1, Console: io.Discard, Start: time.Now(),
		Device: t.TempDir() + "/no-kvm"}
	cases := map[string]func(c *Config){
		"no cpus":     func(c *Config) { c.CPUs = 0 },
		"many cpus":   func(c *Config) { c.CPUs = 256 },
		"tiny memory": func(c *Config) { c.MemSize = 1 << 20 },
		"odd memory":  func(c *Config) { c.MemSize = 64<<20 + 1 },
		"not kernel":  func(c *Config) { c.Kernel = []byte("#!/bin/sh\necho hi\n") },
		"huge initrd": func(c *Config) { c.Initrd = make([]byte, 64<<20) },
	}
	for name, mutate := range cases {
		c := good
		mutate(&c)
		if m, err := New(c); err == nil {
			m.Close()
			t.Errorf("%s: accepted", name)
		}
	}
	_, err := New(good) // valid, but no KVM device
	if !errors.Is(err, kvm.ErrUnavailable) {
		t.Errorf("missing KVM device: %v", err)
	}
	if _, err := New(Config{Kernel: []byte("junk"), MemSize: 64 << 20, CPUs: 1}); !errors.Is(err, boot.ErrNotBzImage) {
		t.Errorf("junk kernel: %v", err)
	}
}

func TestCPUID(t *testing.T) {
	sup := []kvm.CPUIDEntry{
		{Function: 1, EBX: 0xff00_0800},
		{Function: 0xb, Index: 0}, {Function: 0xb, Index: 1}, {Function: 0xb, Index: 2},
		{Function: 0x80000008, ECX: 0x3f},
		{Function: 0x8000001e},
	}
	got := CPUID(sup, 2, 3, true)
	if got[0].EBX>>24 != 2 || got[0].EBX>>16&0xff != 3 || got[0].EBX&0xffff != 0x0800 || got[0].ECX&(1<<31) == 0 ||
		got[0].EDX&(1<<28) == 0 || got[0].ECX&(1<<24) == 0 {
		t.Errorf("leaf 1: %+v", got[0])
	}
	if got[1].EDX != 2 || got[1].EBX != 1 || got[2].EAX != 2 || got[2].EBX != 3 || got[2].ECX != 0x201 || got[3].ECX != 2 {
		t.Errorf("leaf 0xb: %+v %+v %+v", got[1], got[2], got[3])
	}
	if got[4].ECX&0xff != 2 || got[5].EAX != 2 {
		t.Errorf("AMD leaves: %+v %+v", got[4], got[5])
	}
	if sup[0].EBX != 0xff00_0800 {
		t.Error("CPUID modified its input")
	}
	if one := CPUID(sup, 0, 1, false); one[0].EDX&(1<<28) != 0 || one[2].EAX != 0 || one[0].ECX&(1<<24) != 0 {
		t.Errorf("one CPU: %+v %+v", one[0], one[2])
	}
}

func TestEntryState(t *testing.T) {
	im, err := boot.ParseBzImage(testkernel.BzImage(testkernel.PowerOff, 0))
	if err != nil {
		t.Fatal(err)
	}
	p, err := boot.Layout(im, boot.Config{RAM: boot.RAMRanges(64 << 20)})
	if err != nil {
		t.Fatal(err)
	}
	s := entrySregs(kvm.Sregs{APICBase: 0xfee00900}, p.Entry)
	if s.CS.Selector != 0x10 || s.CS.L != 1 || s.CS.Present != 1 || s.SS.Selector != 0x18 || s.TR.Type != 0xb ||
		s.EFER != 0x500 || s.CR3 != boot.PML4Addr || s.APICBase != 0xfee00900 || s.GDT.Limit != 39 {
		t.Fatalf("sregs %+v", s)
	}
	var l kvm.LAPICState
	binary.LittleEndian.PutUint32(l.Regs[apicLVT0:], 0x10000) // masked, fixed
	l = setLINTs(l)
	if binary.LittleEndian.Uint32(l.Regs[apicLVT0:]) != 0x10700 || binary.LittleEndian.Uint32(l.Regs[apicLVT1:]) != 0x400 {
		t.Fatal("LINT wiring")
	}
	if !strings.Contains(Crashed.String(), "crash") || !PowerOff.Clean() || Crashed.Clean() {
		t.Fatal("kinds")
	}
}

func TestDeviceCmdline(t *testing.T) {
	two := Config{Disks: []Disk{{Path: "a"}}, NICs: []NIC{{Tap: "t"}}}
	for _, c := range []struct {
		cmdline string
		cfg     Config
		want    string
	}{
		{"console=ttyS0", Config{}, "console=ttyS0"},
		{"console=ttyS0", two, "console=ttyS0 pci=lastbus=1"},
		{"console=ttyS0 pci=off", two, "console=ttyS0 pci=off"},
		{"console=ttyS0 pci=nomsi", two, "console=ttyS0 pci=nomsi pci=lastbus=1"},
		{"pci=lastbus=3", two, "pci=lastbus=3"},
		{"console=ttyS0", Config{Disks: two.Disks, NICs: two.NICs, VirtioMMIO: true},
			"console=ttyS0 virtio_mmio.device=4K@0xd0000000:5 virtio_mmio.device=4K@0xd0001000:6"},
		// Every device in the list is announced, not only disks and NICs
		// (the command line once counted those two alone, and a third kind
		// on virtio-mmio would never have appeared in the guest).
		{"console=ttyS0", Config{Disks: two.Disks, RNG: &RNG{}, VirtioMMIO: true},
			"console=ttyS0 virtio_mmio.device=4K@0xd0000000:5 virtio_mmio.device=4K@0xd0001000:6"},
	} {
		c.cfg.Cmdline = c.cmdline
		got, err := deviceCmdline(c.cfg)
		if err != nil || got != c.want {
			t.Errorf("deviceCmdline(%q, %+v) = %q, %v; want %q", c.cmdline, c.cfg, got, err, c.want)
		}
	}
	many := Config{VirtioMMIO: true, Disks: make([]Disk, 9)}
	if _, err := deviceCmdline(many); err == nil {
		t.Error("nine virtio-mmio devices accepted")
	}
}

type lineLog []string

func (l *lineLog) SetIRQLine(gsi uint32, high bool) error {
	*l = append(*l, fmt.Sprintf("%d=%v", gsi, high))
	return nil
}

// Two devices on one INTx line: it goes high with the first and low only
// when both have let go; repeated levels change nothing.
func TestSharedLine(t *testing.T) {
	var log lineLog
	l := &sharedLine{vm: &log, gsi: 10}
	a, b := &pin{l: l}, &pin{l: l}
	for _, step := range []struct {
		p    *pin
		high bool
	}{{a, true}, {a, true}, {b, true}, {a, false}, {a, false}, {b, false}} {
		if err := step.p.SetLevel(step.high); err != nil {
			t.Fatal(err)
		}
	}
	if got := strings.Join(log, " "); got != "10=true 10=false" {
		t.Errorf("line changes %q", got)
	}
}

type countingDevice struct{ virtio.Device }

func (countingDevice) Counters() map[string]uint64 { return map[string]uint64{"bytes": 42} }

// Devices that count are reported by name; the others are left out.
func TestDeviceCounters(t *testing.T) {
	devs := []virtioDevice{{name: "virtio-rng", dev: countingDevice{}}, {name: "virtio-blk 0", dev: nil}}
	got := deviceCounters(devs)
	if len(got) != 1 || got["virtio-rng"]["bytes"] != 42 {
		t.Errorf("counters %v", got)
	}
	if deviceCounters(devs[1:]) != nil {
		t.Error("counters for devices that keep none")
	}
}
