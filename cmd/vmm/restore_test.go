package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmmlab/vmm/kvm"
	"github.com/vmmlab/vmm/snapshot"
)

// A restore takes every disk from its command line, in the manifest's
// order; a missing, extra or mismatched one is one line and exit 2,
// before KVM is opened.
func TestRestoreDiskFlags(t *testing.T) {
	dir := t.TempDir()
	snap := filepath.Join(dir, "snap")
	os.Mkdir(snap, 0o700)
	man := snapshot.Manifest{Version: snapshot.Version, Host: snapshot.ThisHost(), CPUID: []kvm.CPUIDEntry{{}},
		Machine: snapshot.Config{CPUs: 1, MemSize: 64 << 20, Disks: []snapshot.Disk{{Path: "/etc/shadow", Size: 4096, ReadOnly: true}}}}
	st := snapshot.State{VCPUs: make([]snapshot.VCPU, 1), IRQChips: []kvm.IRQChip{{ChipID: 0}, {ChipID: 1}, {ChipID: 2}}}
	snapshot.WriteJSON(snap, snapshot.ManifestFile, man)
	snapshot.WriteJSON(snap, snapshot.StateFile, st)
	small, right := filepath.Join(dir, "small"), filepath.Join(dir, "right")
	os.WriteFile(small, make([]byte, 512), 0o600)
	os.WriteFile(right, make([]byte, 4096), 0o600)
	noKVM := []string{"--kvm-device", filepath.Join(dir, "kvm")}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "give as many --disk"},
		{[]string{"--disk", right + ",ro", "--disk", right + ",ro"}, 2, "give as many --disk"},
		{[]string{"--disk", small + ",ro"}, 2, "has 512 bytes"},
		{[]string{"--disk", right}, 2, "read-only false"},
		{[]string{"--disk", filepath.Join(dir, "none")}, 2, "no such file"},
		{[]string{"--disk", right + ",ro"}, 1, "memory"}, // it fits: on to the (missing) memory file
	} {
		var out, errb bytes.Buffer
		code := dispatch(append(append([]string{"restore", snap}, noKVM...), c.args...), &out, &errb)
		if code != c.code || !strings.Contains(errb.String(), c.want) || strings.Count(strings.TrimSpace(errb.String()), "\n") > 0 {
			t.Errorf("vmm restore %q: exit %d, stderr %q; want exit %d and one line with %q", c.args, code, errb.String(), c.code, c.want)
		}
	}
}
