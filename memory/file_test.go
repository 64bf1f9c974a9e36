package memory

import (
	"bytes"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// Guest RAM goes into a sparse file (written pages only) and comes back
// copy-on-write: the restored RAM reads the same, writes to it stay out
// of the file and out of every other clone of it, and a file too short
// for the RAM is refused.
func TestSaveSparseAndMapFile(t *testing.T) {
	spans := []Span{{Base: 0, Size: 8 << 20}, {Base: 16 << 20, Size: 4 << 20}}
	g, err := Map(spans...)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	g.Write(0x1000, []byte("first page"))
	g.Write(0x5ff000, bytes.Repeat([]byte{7}, 8192)) // two pages
	g.Write(16<<20+123, []byte("high"))
	path := filepath.Join(t.TempDir(), "memory")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	n, err := g.SaveSparse(f)
	if err != nil {
		t.Fatal(err)
	}
	if n != 4*pageSize {
		t.Errorf("wrote %d bytes, want the 4 pages with data", n)
	}
	st, _ := f.Stat()
	if st.Size() != 20<<20 {
		t.Errorf("file size %d, want up to the end of guest RAM", st.Size())
	}
	if blocks := st.Sys().(*syscall.Stat_t).Blocks * 512; blocks > 1<<20 {
		t.Errorf("the file takes %d bytes on disk: not sparse", blocks)
	}
	f.Close()

	f, err = os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := MapFile(f, spans...)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, c := range []struct {
		addr uint64
		want []byte
	}{{0x1000, []byte("first page")}, {0x5ff000, bytes.Repeat([]byte{7}, 8192)}, {16<<20 + 123, []byte("high")}, {0x3000, make([]byte, 64)}} {
		got := make([]byte, len(c.want))
		if err := r.Read(c.addr, got); err != nil || !bytes.Equal(got, c.want) {
			t.Errorf("restored %#x: %q, %v", c.addr, got[:min(len(got), 16)], err)
		}
	}
	// A second clone of the same file: neither sees the other's writes.
	r2, err := MapFile(f, spans...)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	r.Write(0x1000, []byte("changed"))
	r2.Write(0x1000+64, []byte("clone two"))
	onDisk := make([]byte, 10)
	f.ReadAt(onDisk, 0x1000)
	if string(onDisk) != "first page" {
		t.Errorf("a write to restored RAM reached the file: %q", onDisk)
	}
	seen := func(g *Guest, addr uint64, n int) string {
		b := make([]byte, n)
		if err := g.Read(addr, b); err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if got := seen(r2, 0x1000, 10); got != "first page" {
		t.Errorf("clone two reads %q where clone one wrote: the clones share memory", got)
	}
	if got := seen(r, 0x1000+64, 9); got != string(make([]byte, 9)) {
		t.Errorf("clone one reads %q where clone two wrote: the clones share memory", got)
	}
	short := filepath.Join(t.TempDir(), "short")
	os.WriteFile(short, make([]byte, 4096), 0o600)
	sf, _ := os.Open(short)
	defer sf.Close()
	if _, err := MapFile(sf, spans...); err == nil {
		t.Error("a memory file shorter than guest RAM was mapped")
	}
}
