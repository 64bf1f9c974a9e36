package memory

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// A snapshot's memory file truncated under a running clone: vmm's own
// reads and writes of the pages it lost are ErrFault, reported once to
// the fault handler, and never kill the process with SIGBUS.
func TestTruncatedMemoryFileIsAnError(t *testing.T) {
	p := filepath.Join(t.TempDir(), "memory")
	if err := os.WriteFile(p, make([]byte, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	g, err := MapFile(f, Span{Base: 0, Size: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	var faults []error
	g.OnFault(func(err error) { faults = append(faults, err) })
	buf := make([]byte, 64)
	if err := g.Read(0x1000, buf); err != nil {
		t.Fatalf("before the truncation: %v", err)
	}
	if err := os.Truncate(p, 0); err != nil {
		t.Fatal(err)
	}
	if err := g.Read(0x80000, buf); !errors.Is(err, ErrFault) {
		t.Fatalf("read of a page the file lost: %v, want ErrFault", err)
	}
	if err := g.Write(0x90000, buf); !errors.Is(err, ErrFault) {
		t.Fatalf("write to a page the file lost: %v, want ErrFault", err)
	}
	if len(faults) != 1 || !errors.Is(faults[0], ErrFault) {
		t.Fatalf("fault handler told %v, want one ErrFault", faults)
	}
}
