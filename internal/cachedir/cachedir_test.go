package cachedir

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPath(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		euid int
		want string
	}{
		{map[string]string{"XDG_CACHE_HOME": "/x", "HOME": "/home/u"}, 1000, "/x/vmm"},
		{map[string]string{"XDG_CACHE_HOME": "rel", "HOME": "/home/u"}, 1000, "/home/u/.cache/vmm"},
		{map[string]string{"HOME": "/home/u"}, 1000, "/home/u/.cache/vmm"},
		{map[string]string{}, 0, "/var/cache/vmm"},
		{map[string]string{"HOME": "relative"}, 0, "/var/cache/vmm"},
		{map[string]string{}, 1000, ""},
	} {
		got, err := Path(func(k string) string { return c.env[k] }, c.euid)
		if got != c.want || (c.want == "") != (err != nil) || got != "" && !filepath.IsAbs(got) {
			t.Errorf("%v euid %d: %q %v, want %q", c.env, c.euid, got, err, c.want)
		}
	}
}

// Without $HOME there is no fallback to a directory another user could
// make first: the old /tmp/vmm-cache.
func TestNoSharedFallback(t *testing.T) {
	for _, euid := range []int{0, 1000} {
		got, _ := Path(func(string) string { return "" }, euid)
		if strings.HasPrefix(got, os.TempDir()) {
			t.Errorf("euid %d: cache %s in the shared temporary directory", euid, got)
		}
	}
}

func TestCheck(t *testing.T) {
	uid := os.Geteuid()
	base := t.TempDir() // mode 0700, ours, under /tmp (root's, sticky)
	good := filepath.Join(base, "good")
	os.Mkdir(good, 0o700)
	if err := Check(good, uid); err != nil {
		t.Fatalf("a private cache under /tmp: %v", err)
	}
	open := filepath.Join(base, "open")
	os.Mkdir(open, 0o777)
	os.Chmod(open, 0o777)
	under := filepath.Join(open, "cache")
	os.Mkdir(under, 0o700)
	sticky := filepath.Join(base, "sticky")
	os.Mkdir(sticky, 0o777)
	os.Chmod(sticky, 0o777|os.ModeSticky)
	link := filepath.Join(base, "link")
	os.Symlink(under, link)
	for _, c := range []struct {
		dir, want string
	}{
		{open, "writable by others"},
		{under, "writable by others"},
		{link, "writable by others"},   // resolved through the link
		{sticky, "writable by others"}, // sticky passes only above the cache
		{"/tmp", "writable by others"}, // the old fallback's parent, as the cache
		{filepath.Join(base, "missing"), "no such"},
	} {
		if err := Check(c.dir, uid); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.dir, err, c.want)
		}
	}
	if uid == 0 {
		other := filepath.Join(base, "other")
		os.Mkdir(other, 0o700)
		os.Chown(other, 12345, 12345)
		if err := Check(other, 0); err == nil || !strings.Contains(err.Error(), "belongs to user 12345") {
			t.Errorf("a cache another user owns: %v", err)
		}
	}
}

// Dir makes the cache private and refuses one another user could plant.
func TestDir(t *testing.T) {
	base := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", base)
	dir, err := Dir()
	if err != nil || dir != filepath.Join(base, "vmm") {
		t.Fatalf("Dir: %q %v", dir, err)
	}
	if st, _ := os.Stat(dir); st.Mode().Perm() != 0o700 {
		t.Errorf("made with mode %v", st.Mode().Perm())
	}
	os.Chmod(dir, 0o777)
	if _, err := Dir(); err == nil {
		t.Error("a cache writable by all was accepted")
	}
}
