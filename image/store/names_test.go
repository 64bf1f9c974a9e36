package store

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestName(t *testing.T) {
	for in, want := range map[string]string{
		"redis":                          "redis:latest",
		"vmm.local/redis":                "vmm.local/redis:latest",
		"vmm.local/redis:7.0":            "vmm.local/redis:7.0",
		"localhost:5000/a/b":             "localhost:5000/a/b:latest",
		"localhost:5000/a/b:v1":          "localhost:5000/a/b:v1",
		"docker.io/library/nginx:1.25_x": "docker.io/library/nginx:1.25_x",
	} {
		if got, err := Name(in); err != nil || got != want {
			t.Errorf("Name(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "Redis", "redis:", "redis:-x", "a//b", "/a", "a/", "a:b:c", "redis@sha256:00", "a b"} {
		if got, err := Name(bad); err == nil {
			t.Errorf("Name(%q) = %q, accepted", bad, got)
		}
	}
}

func TestDefaultRoot(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, c := range []struct {
		env  map[string]string
		euid int
		want string
	}{
		{map[string]string{"VMM_STORE": "/srv/images", "XDG_DATA_HOME": "/x", "HOME": "/h"}, 1000, "/srv/images"},
		{map[string]string{"XDG_DATA_HOME": "/x", "HOME": "/h"}, 1000, "/x/vmm/images"},
		{map[string]string{"XDG_DATA_HOME": "relative", "HOME": "/h"}, 1000, "/h/.local/share/vmm/images"},
		{map[string]string{}, 0, "/var/lib/vmm/images"},
	} {
		if got, err := DefaultRoot(env(c.env), c.euid); err != nil || got != c.want {
			t.Errorf("%v euid %d: %q, %v; want %q", c.env, c.euid, got, err, c.want)
		}
	}
	if _, err := DefaultRoot(env(map[string]string{}), 1000); err == nil {
		t.Error("a user with no HOME got a store")
	}
	if got, _ := DefaultRoot(env(map[string]string{"VMM_STORE": "rel"}), 0); !filepath.IsAbs(got) {
		t.Errorf("a relative $VMM_STORE stays relative: %q", got)
	}
}

// A store others can write to is refused: vmm trusts what it holds.
func TestOpenRefusesSharedDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	if _, err := Open(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "image store") || !strings.Contains(err.Error(), "$VMM_STORE") {
		t.Errorf("a world-writable store: %v", err)
	}
}
