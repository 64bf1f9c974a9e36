package initramfs

import (
	"os"
	"path/filepath"
	"testing"
)

func TestExtractTo(t *testing.T) {
	var a Archive
	for _, err := range []error{a.AddFile("bin/hello", 0o755, []byte("hi")), a.AddSymlink("bin/sh", "hello"),
		a.AddCharDev("dev/console", 0o600, 5, 1), a.AddDir("tmp", 0o1777)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	if err := a.ExtractTo(dir); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "bin/sh"))
	if err != nil || string(b) != "hi" {
		t.Fatalf("bin/sh through the symlink: %q %v", b, err)
	}
	st, err := os.Stat(filepath.Join(dir, "bin/hello"))
	if err != nil || st.Mode().Perm() != 0o755 {
		t.Fatalf("mode %v %v", st.Mode(), err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "dev/console")); !os.IsNotExist(err) {
		t.Fatalf("device node extracted: %v", err)
	}
	if st, err := os.Stat(filepath.Join(dir, "dev")); err != nil || !st.IsDir() {
		t.Fatalf("the device node's directory (a mount point for /dev) is missing: %v", err)
	}
	p := filepath.Join(dir, "img.gz")
	f, _ := os.Create(p)
	if err := a.WriteGzip(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	back, err := ReadFile(p)
	if err != nil || len(back.Paths()) != len(a.Paths()) {
		t.Fatalf("read back: %v (%d entries)", err, len(back.Paths()))
	}
}
