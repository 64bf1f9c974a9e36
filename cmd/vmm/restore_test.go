package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmmlab/vmm/runresult"
	"github.com/vmmlab/vmm/snapshot"
	"github.com/vmmlab/vmm/snapshot/snapshottest"
)

// A restore takes every disk from its command line, in the manifest's
// order; a missing, extra or mismatched one is one line and exit 2,
// before KVM is opened.
func TestRestoreDiskFlags(t *testing.T) {
	dir := t.TempDir()
	snap := filepath.Join(dir, "snap")
	os.Mkdir(snap, 0o700)
	snapshottest.Write(t, snap, snapshot.Config{CPUs: 1, MemSize: 64 << 20, Disks: []snapshot.Disk{{Path: "/etc/shadow", Size: 4096, ReadOnly: true}}})
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

// --result-file appends each run's result as a line runresult reads; a
// file that cannot be made is an error before anything runs.
func TestResultFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results")
	var s session
	if err := s.openResults(path); err != nil {
		t.Fatal(err)
	}
	var errb bytes.Buffer
	s.saveResult(runresult.Result{Reason: runresult.PowerOff, ExitCode: 0}, &errb)
	s.saveResult(runresult.Result{Reason: runresult.Crashed, Cause: runresult.CauseTripleFault, ExitCode: 1}, &errb)
	s.results.Close()
	b, _ := os.ReadFile(path)
	rs := runresult.Find(b)
	if len(rs) != 2 || rs[1].Cause != runresult.CauseTripleFault || errb.Len() > 0 || strings.Count(string(b), "\n") != 2 {
		t.Fatalf("result file %q (%v), stderr %q", b, rs, errb.String())
	}
	if err := s.openResults(filepath.Join(path, "under-a-file")); err == nil {
		t.Fatal("a result file under a file was accepted")
	}
}
