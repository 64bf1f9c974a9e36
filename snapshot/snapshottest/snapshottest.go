// Package snapshottest writes snapshot directories for tests that check
// what a restore accepts before it opens KVM: a manifest for a given
// machine on this host, and the smallest state that passes snapshot.Check.
package snapshottest

import (
	"testing"

	"github.com/vmmlab/vmm/kvm"
	"github.com/vmmlab/vmm/snapshot"
)

// Write writes manifest.json and state.json (no memory file) for machine
// c into dir, which must exist.
func Write(t testing.TB, dir string, c snapshot.Config) {
	t.Helper()
	man := snapshot.Manifest{Version: snapshot.Version, Host: snapshot.ThisHost(), Machine: c, CPUID: []kvm.CPUIDEntry{{}}}
	st := snapshot.State{VCPUs: make([]snapshot.VCPU, c.CPUs)}
	for i := range 3 {
		st.IRQChips = append(st.IRQChips, kvm.IRQChip{ChipID: uint32(i)})
	}
	for name, v := range map[string]any{snapshot.ManifestFile: man, snapshot.StateFile: st} {
		if err := snapshot.WriteJSON(dir, name, v); err != nil {
			t.Fatal(err)
		}
	}
}
