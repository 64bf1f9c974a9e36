package bundle

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// defaultSpec is containerd 1.6.20's default spec (ctr oci spec) with a
// process to run, as ctr run writes it.
func defaultSpec(t *testing.T) *specs.Spec {
	t.Helper()
	data, err := os.ReadFile("testdata/ctr-1.6.20-oci-spec.json")
	if err != nil {
		t.Fatal(err)
	}
	var s specs.Spec
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	s.Process.Args = []string{"/bin/sh"}
	return &s
}

func writeBundle(t *testing.T, s *specs.Spec) string {
	t.Helper()
	dir := t.TempDir()
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// containerd's default spec loads and a VM can honour it, with a network
// namespace to join too.
func TestDefaultSpecRuns(t *testing.T) {
	s, err := LoadSpec(writeBundle(t, defaultSpec(t)))
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckSpec(s); err != nil {
		t.Errorf("default spec: %v", err)
	}
	for i := range s.Linux.Namespaces {
		if s.Linux.Namespaces[i].Type == specs.NetworkNamespace {
			s.Linux.Namespaces[i].Path = "/var/run/netns/test"
		}
	}
	if err := CheckSpec(s); err != nil {
		t.Errorf("a network namespace to join: %v", err)
	}
}

// A host bind mount, a host device and a host namespace to join are each
// refused, all in one error.
func TestCheckSpecRefuses(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(*specs.Spec)
		want   []string
	}{
		{"bind mount", func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/data", Source: "/srv/data", Type: "bind", Options: []string{"rbind", "rw"}})
		}, []string{"/srv/data on /data"}},
		{"bind option on a none mount", func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/etc/hosts", Source: "/etc/hosts", Type: "none", Options: []string{"bind"}})
		}, []string{"/etc/hosts on /etc/hosts"}},
		{"host block device mount", func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/mnt", Source: "/dev/sda1", Type: "ext4"})
		}, []string{"/dev/sda1 on /mnt"}},
		{"device", func(s *specs.Spec) {
			s.Linux.Devices = append(s.Linux.Devices, specs.LinuxDevice{Path: "/dev/kvm", Type: "c", Major: 10, Minor: 232})
		}, []string{"device /dev/kvm"}},
		{"host pid namespace and a device", func(s *specs.Spec) {
			s.Linux.Namespaces[0].Path = "/proc/1/ns/pid"
			s.Linux.Devices = append(s.Linux.Devices, specs.LinuxDevice{Path: "/dev/fuse"})
		}, []string{"pid namespace /proc/1/ns/pid", "device /dev/fuse"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := defaultSpec(t)
			c.change(s)
			err := CheckSpec(s)
			if err == nil {
				t.Fatal("taken")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%v: want %q", err, w)
				}
			}
		})
	}
}

// A missing, empty, oversized, malformed or process-less config.json, a
// FIFO and a symlink are refused, never waited on or followed.
func TestLoadSpecRefuses(t *testing.T) {
	noArgs := defaultSpec(t)
	noArgs.Process.Args = nil
	fifo := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(fifo, "config.json"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := t.TempDir()
	if err := os.Symlink(filepath.Join(writeBundle(t, defaultSpec(t)), "config.json"), filepath.Join(link, "config.json")); err != nil {
		t.Fatal(err)
	}
	write := func(data string) string {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	for _, c := range []struct{ name, dir, want string }{
		{"missing", t.TempDir(), "no such file"},
		{"empty", write(""), "unexpected end"},
		{"oversized", write(`{"ociVersion":"` + strings.Repeat("x", maxConfigSize) + `"}`), "larger than"},
		{"malformed", write(`{"process": 1}`), "cannot unmarshal"},
		{"no process", writeBundle(t, noArgs), "no process"},
		{"fifo", fifo, "not a regular file"},
		{"symlink", link, "too many levels of symbolic links"},
	} {
		if _, err := LoadSpec(c.dir); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

// No config.json makes LoadSpec or CheckSpec panic.
func FuzzLoadSpec(f *testing.F) {
	seed, _ := os.ReadFile("testdata/ctr-1.6.20-oci-spec.json")
	f.Add(seed)
	f.Add([]byte(`{"process":{"args":["x"]},"mounts":[{"type":"bind"}],"linux":{"devices":[{}],"namespaces":[{"type":"pid","path":"/p"}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "config.json"), data, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := LoadSpec(dir)
		if err != nil {
			return
		}
		_ = CheckSpec(s)
	})
}
