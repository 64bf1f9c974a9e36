package cgroup

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, p, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestReadMemoryV1(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "memory/vmm/c1")
	write(t, filepath.Join(dir, "memory.usage_in_bytes"), "241664\n")
	write(t, filepath.Join(dir, "memory.max_usage_in_bytes"), "1048576\n")
	write(t, filepath.Join(dir, "memory.oom_control"), "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n")
	m, err := ReadMemory(root, Hybrid, "/vmm/c1")
	if err != nil || m != (Memory{Current: 241664, Peak: 1048576, OOMKills: 1}) {
		t.Fatalf("%+v %v", m, err)
	}
	if got := Leftovers(root, Hybrid, "/vmm/c1"); len(got) != 1 || got[0] != dir {
		t.Errorf("leftovers %q", got)
	}
	if got := Leftovers(root, Hybrid, "/vmm/none"); len(got) != 0 {
		t.Errorf("leftovers of a missing group %q", got)
	}
}

func TestReadMemoryV2(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "vmm/c2")
	write(t, filepath.Join(dir, "memory.current"), "4096\n")
	write(t, filepath.Join(dir, "memory.events"), "low 0\nhigh 0\nmax 3\noom 1\noom_kill 2\n")
	m, err := ReadMemory(root, V2, "/vmm/c2")
	if err != nil || m != (Memory{Current: 4096, OOMKills: 2}) { // no memory.peak: an older kernel
		t.Fatalf("%+v %v", m, err)
	}
	write(t, filepath.Join(dir, "memory.current"), "lots\n")
	if _, err := ReadMemory(root, V2, "/vmm/c2"); err == nil {
		t.Error("malformed memory.current accepted")
	}
	if _, err := ReadMemory(root, V2, "/vmm/none"); err == nil {
		t.Error("missing group accepted")
	}
}

func TestDetectModeHost(t *testing.T) {
	m, err := DetectMode(Root)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("this host: cgroup %v", m)
	if _, err := DetectMode(filepath.Join(t.TempDir(), "none")); err == nil {
		t.Error("missing root accepted")
	}
}

func TestKernelMemory(t *testing.T) {
	p := filepath.Join(t.TempDir(), "meminfo")
	write(t, p, "MemTotal:       24000000 kB\nSlab:             300000 kB\nKernelStack:        9000 kB\nPageTables:        12000 kB\n")
	k, err := ReadKernelMemory(p)
	if err != nil || k != (KernelMemory{Slab: 300000 << 10, PageTables: 12000 << 10, KernelStack: 9000 << 10}) {
		t.Fatalf("%+v %v", k, err)
	}
	if d := k.Sub(KernelMemory{Slab: 1 << 10}); d.Slab != (300000-1)<<10 || d.PageTables != k.PageTables {
		t.Errorf("Sub %+v", d)
	}
	write(t, p, "Slab: 1 kB\n")
	if _, err := ReadKernelMemory(p); err == nil || !strings.Contains(err.Error(), "PageTables") {
		t.Errorf("meminfo without PageTables: %v", err)
	}
	if _, err := ReadKernelMemory("/proc/meminfo"); err != nil {
		t.Errorf("this host's meminfo: %v", err)
	}
}

// Remove takes the group and its emptied parents, but not a parent
// another group still uses.
func TestRemove(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"memory/vmm/a", "memory/vmm/b", "pids/vmm/a"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := Remove(root, V1, "/vmm/a"); err != nil {
		t.Fatal(err)
	}
	for d, want := range map[string]bool{"memory/vmm/a": false, "pids/vmm/a": false, "pids/vmm": false, "memory/vmm": true, "memory/vmm/b": true} {
		if _, err := os.Stat(filepath.Join(root, d)); (err == nil) != want {
			t.Errorf("%s exists: %v, want %v", d, err == nil, want)
		}
	}
}
