package memory

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func windowFile(t *testing.T, size int64) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "root.img")
	if err := os.WriteFile(path, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, size); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestWindowMapsTheFileShared(t *testing.T) {
	path := windowFile(t, WindowAlign)
	w, err := OpenWindow(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if w.Size() != WindowAlign || !bytes.HasPrefix(w.Data, []byte("hello")) {
		t.Fatalf("window of %d bytes starting %q", w.Size(), w.Data[:5])
	}
	if cached, err := w.Cached(); err != nil || cached < 4096 || cached > WindowAlign {
		t.Errorf("the page cache holds %d bytes of a file just written (%v)", cached, err)
	}
	copy(w.Data[WindowAlign-3:], "end")
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got[WindowAlign-3:]) != "end" {
		t.Fatalf("the file does not hold the guest's write: %q, %v", got[WindowAlign-3:], err)
	}
}

// Read-only windows share the file; a writable one has it alone.
func TestWindowLocks(t *testing.T) {
	path := windowFile(t, 2*WindowAlign)
	ro1, err := OpenWindow(path, true)
	if err != nil {
		t.Fatal(err)
	}
	ro2, err := OpenWindow(path, true)
	if err != nil {
		t.Fatalf("a second read-only window: %v", err)
	}
	if _, err := OpenWindow(path, false); !errors.Is(err, ErrWindowInUse) {
		t.Fatalf("a writable window over read-only ones: %v, want ErrWindowInUse", err)
	}
	ro1.Close()
	ro2.Close()
	rw, err := OpenWindow(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer rw.Close()
	for _, ro := range []bool{false, true} {
		if _, err := OpenWindow(path, ro); !errors.Is(err, ErrWindowInUse) || strings.Contains(err.Error(), "\n") {
			t.Errorf("read-only %v over a writable window: %v, want one line with ErrWindowInUse", ro, err)
		}
	}
}

func TestWindowRefusesBadFiles(t *testing.T) {
	dir := t.TempDir()
	odd := windowFile(t, WindowAlign+4096)
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct{ path, want string }{
		"missing":            {filepath.Join(dir, "none"), "no such file"},
		"not 2 MiB multiple": {odd, "not a non-zero multiple of 2 MiB"},
		"empty":              {windowFile(t, 0), "not a non-zero multiple of 2 MiB"},
		"directory":          {dir, "not a regular file"},
		"fifo":               {fifo, "not a regular file"},
	} {
		_, err := OpenWindow(c.path, true)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
}
