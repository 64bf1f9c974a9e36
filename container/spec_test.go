package container

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestSpec(t *testing.T) {
	c := Config{ID: "c1", Args: []string{"testworkload", "7"}, Rootfs: "/r", Group: "/vmm/c1",
		MemLimit: 64 << 20, Pids: 32, CPUs: 0.5, NetNS: "/proc/1/ns/net"}
	dir := t.TempDir()
	if err := c.WriteBundle(dir); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s specs.Spec
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	r := s.Linux.Resources
	switch {
	case s.Version != SpecVersion || !s.Root.Readonly || s.Root.Path != "/r" || s.Process.Terminal:
		t.Errorf("root/process %+v %+v", s.Root, s.Process)
	case s.Linux.CgroupsPath != "/vmm/c1" || *r.Memory.Limit != 64<<20 || *r.Pids.Limit != 32:
		t.Errorf("limits %+v", r)
	case *r.CPU.Quota != 50_000 || *r.CPU.Period != 100_000:
		t.Errorf("cpu %d/%d, want 50000/100000", *r.CPU.Quota, *r.CPU.Period)
	}
	types := map[specs.LinuxNamespaceType]string{}
	for _, ns := range s.Linux.Namespaces {
		types[ns.Type] = ns.Path
	}
	if len(types) != 5 || types[specs.NetworkNamespace] != "/proc/1/ns/net" {
		t.Errorf("namespaces %v", s.Linux.Namespaces)
	}
	if !strings.Contains(strings.Join(s.Process.Env, " "), "PATH=/bin") {
		t.Errorf("env %v", s.Process.Env)
	}
}

func TestSpecRejectsBadConfig(t *testing.T) {
	good := Config{ID: "c", Args: []string{"x"}, Rootfs: "/r", Group: "/vmm/c"}
	for name, mod := range map[string]func(*Config){
		"empty id":     func(c *Config) { c.ID = "" },
		"slash in id":  func(c *Config) { c.ID = "a/b" },
		"no args":      func(c *Config) { c.Args = nil },
		"relative fs":  func(c *Config) { c.Rootfs = "r" },
		"root group":   func(c *Config) { c.Group = "/" },
		"dirty group":  func(c *Config) { c.Group = "/vmm/../x" },
		"tiny memory":  func(c *Config) { c.MemLimit = 1 << 20 },
		"negative cpu": func(c *Config) { c.CPUs = -1 },
		"tiny cpu":     func(c *Config) { c.CPUs = 0.001 },
	} {
		c := good
		mod(&c)
		if _, err := c.Spec(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := good.Spec(); err != nil {
		t.Errorf("good config: %v", err)
	}
}

func TestRootfsRejectsDynamicPrograms(t *testing.T) {
	if _, err := Rootfs(t.TempDir(), []string{"/bin/ls"}); err == nil || !strings.Contains(err.Error(), "statically") {
		t.Errorf("dynamic /bin/ls: %v", err)
	}
	if _, err := Rootfs(t.TempDir(), nil); err == nil {
		t.Error("empty rootfs accepted")
	}
}

// The host's root is the initial rootfs only when mountinfo says so.
func TestRootIsInitramfs(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) string {
		p := filepath.Join(dir, "mountinfo")
		os.WriteFile(p, []byte(s), 0o600)
		return p
	}
	if !rootIsInitramfs(write("1 1 0:2 / / rw - rootfs rootfs rw,size=1000k\n22 1 0:21 / /proc rw - proc proc rw\n")) {
		t.Error("an initramfs root not seen")
	}
	if rootIsInitramfs(write("22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n")) {
		t.Error("an ext4 root taken for an initramfs")
	}
	if rootIsInitramfs(filepath.Join(dir, "missing")) {
		t.Error("no mountinfo taken for an initramfs")
	}
}

// An image's process comes into the spec whole, with Docker's default
// capabilities, its own /tmp and, with Writable, a writable root.
func TestSpecOfAnImageProcess(t *testing.T) {
	p := &specs.Process{Args: []string{"redis-server"}, Env: []string{"PATH=/usr/bin", "HOME=/data"}, Cwd: "/data", User: specs.User{UID: 999, GID: 998}}
	c := Config{ID: "c1", Args: p.Args, Process: p, Rootfs: "/r", Group: "/vmm/c1", Writable: true}
	s, err := c.Spec()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Process.Env, p.Env) || s.Process.Cwd != "/data" || s.Process.User.UID != 999 || s.Root.Readonly || s.Process.NoNewPrivileges ||
		!slices.Contains(s.Process.Capabilities.Bounding, "CAP_SETUID") {
		t.Errorf("spec: process %+v, root %+v", s.Process, s.Root)
	}
	for _, m := range s.Mounts {
		if m.Destination == "/tmp" {
			t.Error("an image's /tmp is covered by a tmpfs")
		}
	}
	c.Args = []string{"other"}
	if _, err := c.Spec(); err == nil {
		t.Error("Args that differ from the process's accepted")
	}
}
