package machine

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// A working set is read only from a regular file in the snapshot: a
// symlink, a FIFO (which would block the restore) or a directory is
// refused at once; a missing one says so.
func TestReadWorkingSetRefusesOddFiles(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	os.WriteFile(good, []byte("vmm-working-set 1\n0 2 r\n4 1 w\n"), 0o600)
	if rs, err := readWorkingSet(good, 1<<20); err != nil || len(rs) != 2 || !rs[1].Written {
		t.Fatalf("a good file: %v, %v", rs, err)
	}
	link := filepath.Join(dir, "link")
	os.Symlink(good, link)
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{link, fifo, dir} {
		if _, err := readWorkingSet(p, 1<<20); err == nil {
			t.Errorf("%s was read", p)
		}
	}
	if _, err := readWorkingSet(filepath.Join(dir, "none"), 1<<20); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing file: %v", err)
	}
}
