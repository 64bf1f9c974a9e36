package unixsock

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A stale socket is replaced, a live one and a plain file are not; the
// file stays after close; private sockets are 0600.
func TestListen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s.sock")
	ln, err := Listen(path, true)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("private socket mode %v", st.Mode().Perm())
	}
	if _, err := Listen(path, false); err == nil || !strings.Contains(err.Error(), "live socket") {
		t.Fatalf("a live socket: %v", err)
	}
	ln.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the file should stay after close: %v", err)
	}
	ln, err = Listen(path, false)
	if err != nil {
		t.Fatalf("replacing a stale socket: %v", err)
	}
	ln.Close()
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o600)
	if _, err := Listen(file, false); err == nil {
		t.Fatal("a plain file was replaced")
	}
}
