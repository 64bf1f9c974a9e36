package container

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Defect: with /run/vmm not writable, bundles went to a shared /tmp
// directory that another local user could create first and swap a
// bundle's config.json in. The state directory is private or refused.
func TestStateDirIsPrivate(t *testing.T) {
	xdg := t.TempDir()
	t.Setenv("XDG_RUNTIME_DIR", xdg)
	dir, err := StateDir("containers")
	if err != nil || dir != filepath.Join(xdg, "vmm", "containers") {
		t.Fatalf("StateDir = %q, %v", dir, err)
	}
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if st, err := os.Stat(d); err != nil || st.Mode().Perm() != 0o700 {
			t.Errorf("%s: %v %v, want mode 0700", d, st.Mode(), err)
		}
	}

	// A directory others may write, or a symlink in its place, is refused
	// (and then /run/vmm is tried; as a non-root user that fails too).
	loose := t.TempDir()
	t.Setenv("XDG_RUNTIME_DIR", loose)
	if err := os.MkdirAll(filepath.Join(loose, "vmm", "bench"), 0o700); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Join(loose, "vmm", "bench"), 0o777)
	if dir, err := StateDir("bench"); dir == filepath.Join(loose, "vmm", "bench") {
		t.Errorf("a world-writable state directory was accepted (%v)", err)
	} else if err != nil && !strings.Contains(err.Error(), "mode") {
		t.Errorf("refusal does not say why: %v", err)
	}
	link := t.TempDir()
	t.Setenv("XDG_RUNTIME_DIR", link)
	os.MkdirAll(filepath.Join(link, "elsewhere"), 0o700)
	os.Mkdir(filepath.Join(link, "vmm"), 0o700)
	if err := os.Symlink(filepath.Join(link, "elsewhere"), filepath.Join(link, "vmm", "x")); err != nil {
		t.Fatal(err)
	}
	if dir, _ := StateDir("x"); dir == filepath.Join(link, "vmm", "x") {
		t.Error("a symlinked state directory was accepted")
	}
}
