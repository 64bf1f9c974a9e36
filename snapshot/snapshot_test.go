package snapshot

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmmlab/vmm/kvm"
)

func sample() (Manifest, State) {
	m := Manifest{VMM: "test", Machine: Config{MemSize: 64 << 20, CPUs: 1, Cmdline: "console=ttyS0"},
		CPUID: []kvm.CPUIDEntry{{Function: 0, EAX: 0xd}}}
	s := State{VCPUs: make([]VCPU, 1), IRQChips: []kvm.IRQChip{{ChipID: 0}, {ChipID: 1}, {ChipID: 2}}}
	s.VCPUs[0].Regs.RIP = 0xffffffff81000000
	s.VCPUs[0].MSRs = []kvm.MSREntry{{Index: 0x10, Data: 12345}}
	return m, s
}

// write makes a snapshot directory with a memory file of m's size that
// holds one page of data.
func write(t *testing.T, m Manifest, s State) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "snap")
	if err := Create(dir); err != nil {
		t.Fatal(err)
	}
	mem, err := os.Create(filepath.Join(dir, MemoryFile))
	if err != nil {
		t.Fatal(err)
	}
	mem.Truncate(int64(m.Machine.MemSize))
	mem.WriteAt([]byte("guest"), 1<<20)
	mem.Close()
	if err := Write(dir, m, s); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestRoundTrip(t *testing.T) {
	m, s := sample()
	dir := write(t, m, s)
	m2, s2, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m2.Machine.Cmdline != m.Machine.Cmdline || s2.VCPUs[0].Regs.RIP != s.VCPUs[0].Regs.RIP || s2.VCPUs[0].MSRs[0].Data != 12345 {
		t.Fatalf("read back %+v %+v", m2, s2.VCPUs[0].Regs)
	}
	if err := VerifyMemory(dir, m2); err != nil {
		t.Fatal(err)
	}
	if err := Create(dir); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("a snapshot into a used directory: %v", err)
	}
}

// Every way a snapshot can be broken gives an error from Read.
func TestBrokenSnapshots(t *testing.T) {
	m, s := sample()
	for name, breakIt := range map[string]func(dir string){
		"no manifest":     func(dir string) { os.Remove(filepath.Join(dir, ManifestFile)) },
		"truncated state": func(dir string) { truncateHalf(filepath.Join(dir, StateFile)) },
		"truncated manifest": func(dir string) {
			truncateHalf(filepath.Join(dir, ManifestFile))
		},
		"garbage state":  func(dir string) { os.WriteFile(filepath.Join(dir, StateFile), []byte("\x00\x01garbage"), 0o600) },
		"trailing bytes": func(dir string) { appendTo(filepath.Join(dir, StateFile), "{}") },
		"unknown field": func(dir string) {
			replaceIn(filepath.Join(dir, ManifestFile), `"vmm":`, `"surprise": 1, "vmm":`)
		},
		"another state of the same size": func(dir string) {
			replaceIn(filepath.Join(dir, StateFile), `"pci_address":0`, `"pci_address":1`)
		},
		"state from another snapshot": func(dir string) {
			m2, s2 := sample()
			s2.VCPUs[0].Regs.RIP++
			other := write(t, m2, s2)
			b, _ := os.ReadFile(filepath.Join(other, StateFile))
			os.WriteFile(filepath.Join(dir, StateFile), b, 0o600)
		},
		"another format": func(dir string) {
			replaceIn(filepath.Join(dir, ManifestFile), `"vmm-snapshot"`, `"qemu"`)
		},
	} {
		dir := write(t, m, s)
		breakIt(dir)
		if _, _, err := Read(dir); err == nil {
			t.Errorf("%s: read without an error", name)
		}
	}
	for name, change := range map[string]func(*Manifest, *State){
		"vcpu count":     func(m *Manifest, _ *State) { m.Machine.CPUs = 2 },
		"memory size":    func(m *Manifest, _ *State) { m.Machine.MemSize = 12345 },
		"irqchips":       func(_ *Manifest, s *State) { s.IRQChips = s.IRQChips[:2] },
		"irqchip id":     func(_ *Manifest, s *State) { s.IRQChips[2].ChipID = 7 },
		"no cpuid":       func(m *Manifest, _ *State) { m.CPUID = nil },
		"serial too big": func(_ *Manifest, s *State) { s.Serial.RX = make([]byte, 1<<17) },
		"device without a kind": func(_ *Manifest, s *State) {
			s.Virtio = []VirtioTransport{{Device: Device{Index: 0}}}
		},
	} {
		m2, s2 := sample()
		change(&m2, &s2)
		if _, _, err := Read(write(t, m2, s2)); err == nil {
			t.Errorf("%s: read without an error", name)
		}
	}
}

// The memory file's size is checked when it is opened, and its digest
// catches a changed page, while a page of zeros written into a hole
// keeps it.
func TestMemoryDigest(t *testing.T) {
	m, s := sample()
	dir := write(t, m, s)
	m, _, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, MemoryFile)
	f, _ := os.OpenFile(path, os.O_RDWR, 0)
	defer f.Close()
	f.WriteAt(make([]byte, 8192), 8<<20) // zeros into a hole
	if err := VerifyMemory(dir, m); err != nil {
		t.Fatalf("zeros written into a hole: %v", err)
	}
	if err := CheckMemoryFile(f, m); err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("G"), 1<<20)
	if err := VerifyMemory(dir, m); err == nil {
		t.Fatal("a changed page kept the digest")
	}
	f.Truncate(32 << 20)
	if err := CheckMemoryFile(f, m); err == nil || !strings.Contains(err.Error(), "the manifest says") {
		t.Fatalf("a truncated memory file: %v", err)
	}
}

func truncateHalf(path string) {
	b, _ := os.ReadFile(path)
	os.WriteFile(path, b[:len(b)/2], 0o600)
}

func appendTo(path, s string) {
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(s)
	f.Close()
}

func replaceIn(path, old, new string) {
	b, _ := os.ReadFile(path)
	os.WriteFile(path, bytes.Replace(b, []byte(old), []byte(new), 1), 0o600)
}

// FuzzDecode: no bytes make the decoders, the conversion to the run-time
// types or Check panic.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"format":"vmm-snapshot","version":2,"machine":{"cpus":1,"mem_size":67108864},"cpuid":[{}]}`),
		[]byte(`{"vcpus":[{"regs":"AAAA"}],"irqchips":[{"id":0},{"id":1},{"id":2}],"virtio":[{"kind":"virtio-rng","pci":{"config":"AA=="}}]}`))
	f.Fuzz(func(t *testing.T, mj, sj []byte) {
		var wm wireManifest
		var ws wireState
		if decode(bytes.NewReader(mj), &wm) != nil || decode(bytes.NewReader(sj), &ws) != nil {
			return
		}
		m, err := wm.runtime()
		if err != nil {
			return
		}
		if s, err := ws.runtime(); err == nil {
			Check(m, s)
		}
	})
}
