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
	m := Manifest{Version: Version, VMM: "test", Machine: Config{MemSize: 64 << 20, CPUs: 1, Cmdline: "console=ttyS0"},
		CPUID: []kvm.CPUIDEntry{{Function: 0, EAX: 0xd}}}
	s := State{VCPUs: make([]VCPU, 1), IRQChips: []kvm.IRQChip{{ChipID: 0}, {ChipID: 1}, {ChipID: 2}}}
	s.VCPUs[0].Regs.RIP = 0xffffffff81000000
	s.VCPUs[0].MSRs = []kvm.MSREntry{{Index: 0x10, Data: 12345}}
	return m, s
}

func write(t *testing.T, m Manifest, s State) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "snap")
	if err := Create(dir); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(dir, StateFile, s); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(dir, ManifestFile, m); err != nil {
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
			os.WriteFile(filepath.Join(dir, ManifestFile), []byte(`{"version":1,"surprise":1}`), 0o600)
		},
	} {
		dir := write(t, m, s)
		breakIt(dir)
		if _, _, err := Read(dir); err == nil {
			t.Errorf("%s: read without an error", name)
		}
	}
	for name, change := range map[string]func(*Manifest, *State){
		"version":        func(m *Manifest, _ *State) { m.Version = 99 },
		"vcpu count":     func(m *Manifest, _ *State) { m.Machine.CPUs = 2 },
		"memory size":    func(m *Manifest, _ *State) { m.Machine.MemSize = 12345 },
		"irqchips":       func(_ *Manifest, s *State) { s.IRQChips = s.IRQChips[:2] },
		"irqchip id":     func(_ *Manifest, s *State) { s.IRQChips[2].ChipID = 7 },
		"no cpuid":       func(m *Manifest, _ *State) { m.CPUID = nil },
		"serial too big": func(_ *Manifest, s *State) { s.Serial.RX = make([]byte, 1<<17) },
	} {
		m2, s2 := sample()
		change(&m2, &s2)
		if _, _, err := Read(write(t, m2, s2)); err == nil {
			t.Errorf("%s: read without an error", name)
		}
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

// FuzzDecode: no bytes make the decoders or Check panic.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"version":1,"machine":{"cpus":1,"mem_size":67108864},"cpuid":[{}]}`), []byte(`{"vcpus":[{}],"irqchips":[{},{},{}]}`))
	f.Fuzz(func(t *testing.T, mj, sj []byte) {
		var m Manifest
		var s State
		if decode(bytes.NewReader(mj), &m) == nil && decode(bytes.NewReader(sj), &s) == nil {
			Check(m, s)
		}
	})
}
