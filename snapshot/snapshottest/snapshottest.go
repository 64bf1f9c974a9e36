// Package snapshottest writes snapshot directories for tests that check
// what a restore accepts before it opens KVM: a manifest for a given
// machine on this host, and the smallest state that passes snapshot.Check.
package snapshottest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/vmmlab/vmm/kvm"
	"github.com/vmmlab/vmm/snapshot"
)

// Write writes manifest.json and state.json for machine c into dir,
// which must exist. The manifest lists a memory file of c.MemSize bytes
// of zeros, which is not left in dir.
func Write(t testing.TB, dir string, c snapshot.Config) {
	t.Helper()
	man := snapshot.Manifest{Host: snapshot.ThisHost(), Machine: c, CPUID: []kvm.CPUIDEntry{{}}}
	st := snapshot.State{VCPUs: make([]snapshot.VCPU, c.CPUs)}
	for i := range 3 {
		st.IRQChips = append(st.IRQChips, kvm.IRQChip{ChipID: uint32(i)})
	}
	mem := filepath.Join(dir, snapshot.MemoryFile)
	if err := os.WriteFile(mem, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(mem, int64(c.MemSize)); err != nil {
		t.Fatal(err)
	}
	if err := snapshot.Write(dir, man, st); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(mem); err != nil {
		t.Fatal(err)
	}
}
