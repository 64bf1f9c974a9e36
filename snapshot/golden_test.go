package snapshot

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/vmmlab/vmm/devices/rtc"
	"github.com/vmmlab/vmm/devices/serial"
	"github.com/vmmlab/vmm/devices/virtio"
	"github.com/vmmlab/vmm/devices/virtio/queue"
	"github.com/vmmlab/vmm/devices/virtio/transport/virtiopci"
	"github.com/vmmlab/vmm/kvm"
)

var update = flag.Bool("update", false, "rewrite testdata/v2 from golden()")

// golden is the snapshot in testdata/v2: every field set, every blob a
// pattern, so that a change of a name, an order or a byte order shows.
func golden() (Manifest, State) {
	rate := uint64(1 << 20)
	m := Manifest{VMM: "golden", Created: "2026-12-07T00:00:00Z", Host: Host{"GenuineIntel", "Golden CPU"},
		Machine: Config{MemSize: 16 << 20, CPUs: 2, Cmdline: "console=ttyS0 vmm.task=hello", HugePages: 1, RNG: &rate,
			Disks: []Disk{{"/images/root.ext4", true, 8 << 20}, {"/images/scratch", false, 4096}},
			NICs:  []NIC{{[6]byte{0x52, 0x54, 0, 0x12, 0x34, 0x56}}}},
		CPUID: []kvm.CPUIDEntry{{Function: 0, EAX: 0xd, EBX: 0x756e6547}, {Function: 7, Index: 0, Flags: kvm.CPUIDFlagSignificantIndex, EBX: 0x9c2}}}
	s := State{PCIAddress: 0x80001810,
		Serial: serial.State{IER: 1, LCR: 3, MCR: 8, SCR: 0x5a, DLL: 1, FCR: 0xc1, RX: []byte("typed"), THREPending: true},
		RTC:    rtc.State{Index: 0x0b, RAM: pattern[[128]byte](7)}}
	for i := range 2 {
		v := VCPU{MPState: kvm.MPState{State: uint32(i)}, MSRs: []kvm.MSREntry{{Index: 0x10, Data: 1e9}, {Index: 0xc0000080, Data: 0xd01}},
			XSave: kvm.XSave{Region: pattern[[4096]byte](i)}, XCRs: kvm.XCRs{Data: pattern[[392]byte](i + 1)},
			LAPIC: kvm.LAPICState{Regs: pattern[[1024]byte](i + 2)}, Events: kvm.VCPUEvents{Data: pattern[[64]byte](i + 3)},
			DebugRegs: kvm.DebugRegs{Data: pattern[[128]byte](i + 4)}}
		v.Regs = kvm.Regs{RAX: 1, RBX: 2, RSP: 0xffffc90000003e00, RIP: 0xffffffff81000000 + uint64(i), RFLAGS: 0x246}
		v.Sregs.CS = kvm.Segment{Base: 0, Limit: 0xffffffff, Selector: 0x10, Type: 11, Present: 1, S: 1, L: 1, G: 1}
		v.Sregs.GDT = kvm.DTable{Base: 0xfffffe0000001000, Limit: 0x7f}
		v.Sregs.CR0, v.Sregs.CR3, v.Sregs.CR4, v.Sregs.EFER, v.Sregs.APICBase = 0x80050033, 0x1000, 0x3706f0, 0xd01, 0xfee00900
		s.VCPUs = append(s.VCPUs, v)
	}
	for i := range 3 {
		s.IRQChips = append(s.IRQChips, kvm.IRQChip{ChipID: uint32(i), Chip: pattern[[512]byte](i + 5)})
	}
	s.PIT = kvm.PITState2{Data: pattern[[112]byte](9)}
	s.Clock = kvm.ClockData{Clock: 123456789, Flags: kvm.ClockRealtime, Realtime: 1765065600000000000, HostTSC: 42}
	q := virtio.QueueState{Size: 256, Desc: 0x100000, Avail: 0x101000, Used: 0x102000, Ready: true, Vector: 1,
		Position: queue.Position{NextAvail: 7, NextUsed: 7, SignalledUsed: 6, Signalled: true}, DeviceHasPositions: true}
	core := virtio.CoreState{DevFeatSel: 1, DrvFeatures: 1 << 32, Status: 15, Generation: 1, ISR: 1, Active: true, Queues: []virtio.QueueState{q}}
	pci := virtiopci.State{Config: pattern[[256]byte](11), ConfigVector: 0, Table: []virtiopci.MSIXEntry{{Addr: 0xfee00000, Data: 0x4021}, {Masked: true, Pending: true}}}
	s.Virtio = []VirtioTransport{{Device{"virtio-blk", 0}, core, &pci}, {Device{"virtio-blk", 1}, core, &pci},
		{Device{"virtio-net", 0}, core, &pci}, {Device{"virtio-rng", 0}, core, nil}}
	return m, s
}

// pattern fills a byte array with i, i+1, i+2...
func pattern[A any](i int) A {
	var a A
	b := reflect.ValueOf(&a).Elem()
	for j := range b.Len() {
		b.Index(j).Set(reflect.ValueOf(byte(i + j)))
	}
	return a
}

// goldenMemory writes the golden snapshot's memory file into dir.
func goldenMemory(t *testing.T, dir string, size uint64) {
	f, err := os.Create(filepath.Join(dir, MemoryFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.Truncate(int64(size))
	f.WriteAt([]byte("the guest's first page"), 0)
	f.WriteAt(bytes.Repeat([]byte("kernel"), 2000), 1<<20)
}

// This version reads the golden directory into exactly golden(), and
// writes golden() into exactly its bytes: the format did not change.
func TestGoldenV2(t *testing.T) {
	m, s := golden()
	dir := t.TempDir()
	goldenMemory(t, dir, m.Machine.MemSize)
	if err := Write(dir, m, s); err != nil {
		t.Fatal(err)
	}
	if *update {
		for _, name := range []string{ManifestFile, StateFile} {
			b, _ := os.ReadFile(filepath.Join(dir, name))
			if err := os.WriteFile(filepath.Join("testdata/v2", name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, name := range []string{ManifestFile, StateFile} {
		got, _ := os.ReadFile(filepath.Join(dir, name))
		want, err := os.ReadFile(filepath.Join("testdata/v2", name))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s is not testdata/v2's (%v): the format changed; a new format is a new version", name, err)
		}
	}
	gm, gs, err := Read("testdata/v2")
	if err != nil {
		t.Fatal(err)
	}
	m.Files = gm.Files
	if !reflect.DeepEqual(gm, m) || !reflect.DeepEqual(gs, s) {
		t.Errorf("testdata/v2 reads as\n%+v\n%+v", gm, gs)
	}
	if err := VerifyMemory(dir, gm); err != nil {
		t.Error(err)
	}
}

// A snapshot of version 1 (before the format had names of its own) is
// refused by its version, with what to do.
func TestVersion1IsRefusedByVersion(t *testing.T) {
	_, _, err := Read("testdata/v1")
	if err == nil || !strings.Contains(err.Error(), "format version 1; this vmm reads version 2") {
		t.Fatalf("a version 1 snapshot: %v", err)
	}
}
