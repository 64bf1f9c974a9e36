package settings

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// The documented example file gives every key; a file with only the
// kernel gets the defaults.
func TestLoad(t *testing.T) {
	s, err := Load("testdata/shim.toml")
	want := Settings{Kernel: "/usr/lib/vmm/bzImage-micro", Initrd: "/usr/lib/vmm/agent.cpio.gz", VMM: "/usr/local/bin/vmm",
		MemoryBytes: 512 << 20, CPUs: 2, Virtio: "mmio", Backend: BackendVM}
	if err != nil || s != want {
		t.Errorf("Load: %+v, %v; want %+v", s, err, want)
	}
	s, err = Parse([]byte(`kernel = "/k"`), "min")
	want = Settings{Kernel: "/k", MemoryBytes: 256 << 20, CPUs: 1, Virtio: "pci", Backend: BackendVM}
	if err != nil || s != want {
		t.Errorf("defaults: %+v, %v; want %+v", s, err, want)
	}
	if s, err := Parse([]byte("kernel = \"/k\"\nbackend = \"process\""), "p"); err != nil || s.Backend != BackendProcess {
		t.Errorf("process backend: %+v, %v", s, err)
	}
}

// Each bad document is refused with one error naming the file and what
// is wrong.
func TestParseRefuses(t *testing.T) {
	for _, c := range []struct{ doc, want string }{
		{``, "kernel: required"},
		{`kernel = ""`, "kernel: required"},
		{`kernel = "bzImage"`, "want an absolute path"},
		{"kernel = \"/k\"\ninitrd = \"a.cpio\"", "initrd"},
		{"kernel = \"/k\"\nvmm = \"vmm\"", "vmm"},
		{"kernel = \"/k\"\nmemory = \"lots\"", "memory"},
		{"kernel = \"/k\"\nmemory = 512", "memory"},
		{"kernel = \"/k\"\nmemory = \"0\"", "at least 16 MiB"},
		{"kernel = \"/k\"\ncpus = 0", "cpus = 0"},
		{"kernel = \"/k\"\ncpus = 100000", "cpus = 100000"},
		{"kernel = \"/k\"\ncpus = \"2\"", "cpus"},
		{"kernel = \"/k\"\nvirtio = \"ccw\"", `virtio = "ccw"`},
		{"kernel = \"/k\"\nbackend = \"qemu\"", `backend = "qemu"`},
		{"kernel = \"/k\"\nmemmory = \"1G\"", "unknown key memmory"},
		{"kernel = \"/k\"\n[vm]\ncpus = 2", "unknown key vm"},
		{"kernel = /k", "shim settings bad.toml"},
		{"kernel = \"/k\"\nkernel = \"/j\"", "shim settings bad.toml"},
	} {
		_, err := Parse([]byte(c.doc), "bad.toml")
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "bad.toml") {
			t.Errorf("%q: %v, want an error with %q", c.doc, err, c.want)
		}
	}
}

// A missing file, a directory, a FIFO (never waited on) and a file too
// large to be settings are refused.
func TestLoadRefuses(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.toml")
	if err := os.WriteFile(big, []byte("kernel = \"/k\"\n"+strings.Repeat("# padding\n", maxFileSize/10+1)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ path, want string }{
		{filepath.Join(dir, "missing.toml"), "no such file"},
		{dir, "not a regular file"},
		{fifo, "not a regular file"},
		{big, "larger than"},
	} {
		if _, err := Load(c.path); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Load(%s): %v, want %q", c.path, err, c.want)
		}
	}
}

// vmm is the file's, else the one beside the shim, else PATH's.
func TestVMMPath(t *testing.T) {
	dir, path := t.TempDir(), t.TempDir()
	shim := filepath.Join(dir, "containerd-shim-vmm-v2")
	t.Setenv("PATH", path)
	if p, err := (Settings{VMM: "/opt/vmm"}).VMMPath(shim); err != nil || p != "/opt/vmm" {
		t.Errorf("the file's: %q, %v", p, err)
	}
	if p, err := (Settings{}).VMMPath(shim); err == nil {
		t.Errorf("no vmm anywhere: %q", p)
	}
	inPath := filepath.Join(path, "vmm")
	if err := os.WriteFile(inPath, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if p, err := (Settings{}).VMMPath(shim); err != nil || p != inPath {
		t.Errorf("PATH's: %q, %v", p, err)
	}
	beside := filepath.Join(dir, "vmm")
	if err := os.WriteFile(beside, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if p, err := (Settings{}).VMMPath(shim); err != nil || p != beside {
		t.Errorf("beside the shim: %q, %v", p, err)
	}
}

// No document makes Parse panic; one it accepts is complete.
func FuzzParse(f *testing.F) {
	seed, _ := os.ReadFile("testdata/shim.toml")
	f.Add(seed)
	f.Add([]byte("kernel = \"/k\"\ncpus = 3\n"))
	f.Add([]byte("[a.b]\nc = [1, {d = 2}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data, "fuzz")
		if err != nil {
			return
		}
		if !filepath.IsAbs(s.Kernel) || s.CPUs < 1 || s.MemoryBytes < minMemory ||
			(s.Virtio != "pci" && s.Virtio != "mmio") || (s.Backend != BackendVM && s.Backend != BackendProcess) {
			t.Errorf("accepted %q as %+v", data, s)
		}
	})
}
