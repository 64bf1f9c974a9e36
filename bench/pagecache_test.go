package bench

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// pageCached counts the resident pages of every regular file below a
// directory: a file just written is there, and gone once dropped.
func TestPageCached(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "sub"), 0o755)
	p := filepath.Join(dir, "sub", "data")
	if err := os.WriteFile(p, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Symlink("sub/data", filepath.Join(dir, "link")) // not followed, not counted twice
	os.WriteFile(filepath.Join(dir, "empty"), nil, 0o644)
	n, err := pageCached([]string{dir})
	if err != nil || n < 1<<20 || n > 1<<20+int64(os.Getpagesize()) {
		t.Fatalf("just written: %d bytes cached, %v; want 1 MiB", n, err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	f.Sync()
	err = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
	f.Close()
	if err != nil {
		t.Skipf("fadvise: %v", err)
	}
	if n, err := pageCached([]string{p}); err != nil || n >= 1<<20 {
		t.Errorf("after FADV_DONTNEED: %d bytes cached, %v", n, err)
	}
	if _, err := pageCached([]string{filepath.Join(dir, "missing")}); err == nil {
		t.Error("a missing path measured")
	}
	if err := mincore(make([]byte, 2*os.Getpagesize()), make([]byte, 1)); err == nil {
		t.Error("mincore took a vector too short for the mapping")
	}
}
