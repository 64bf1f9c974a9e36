package memory

import (
	"os"
	"path/filepath"
	"testing"
)

// mapTestFile maps a 20 MiB memory file over two spans, as a restore
// does.
func mapTestFile(t *testing.T, path string) *Guest {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	g, err := MapFile(f, Span{Base: 0, Size: 8 << 20}, Span{Base: 16 << 20, Size: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g
}

// The pages a restored guest touched are the ones pagemap shows mapped;
// a second mapping of the same file that prefetches them has exactly
// those pages mapped before anything reads it.
func TestResidentAndPrefetch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "memory")
	if err := os.WriteFile(path, make([]byte, 20<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	pagemap, err := os.Open("/proc/self/pagemap")
	if err != nil {
		t.Skipf("no pagemap: %v", err)
	}
	defer pagemap.Close()
	g := mapTestFile(t, path)
	if rs, err := g.Resident(pagemap); err != nil || len(rs) != 0 {
		t.Fatalf("a fresh mapping has %v resident (%v)", rs, err)
	}
	buf := make([]byte, 1)
	for _, addr := range []uint64{0x1000, 0x2000, 0x3fff, 0x9000, 16<<20 + 5} {
		if err := g.Read(addr, buf); err != nil {
			t.Fatal(err)
		}
	}
	g.Write(0x7ff000, []byte("written"))
	// The kernel maps pages around the one faulted (fault-around, large
	// folios): the touched pages are among those resident.
	touched := []uint64{1, 2, 3, 9, 0x7ff, 16 << 8}
	got, err := g.Resident(pagemap)
	if err != nil || !covers(got, touched) {
		t.Fatalf("resident %v, %v; want pages %v among them", got, err, touched)
	}
	for _, r := range got {
		if written := 0x7ff >= r.First && 0x7ff < r.First+r.Count; r.Written != written {
			t.Errorf("range %+v: written %v, want %v (only page 0x7ff was written)", r, r.Written, written)
		}
	}
	h := mapTestFile(t, path)
	n, err := h.Prefetch(got)
	if err != nil || n != pages(got) {
		t.Fatalf("prefetched %d pages of %d: %v", n, pages(got), err)
	}
	again, err := h.Resident(pagemap)
	if err != nil || !covers(again, pageList(got)) {
		t.Errorf("after the prefetch %v resident (%v); want %v among them", again, err, got)
	}
	// the written page was copied by the prefetch, before any write
	if !covers(writtenOnly(again), []uint64{0x7ff}) {
		t.Errorf("after the prefetch page 0x7ff is not a private copy: %v", again)
	}
	if _, err := h.Prefetch([]PageRange{{First: 12 << 8, Count: 1}}); err == nil {
		t.Error("a page in the hole between the spans was prefetched")
	}
	if _, err := h.Prefetch([]PageRange{{First: 1 << 62, Count: 1 << 60}}); err == nil {
		t.Error("a range past any address was prefetched")
	}
}

// covers says whether every page of ps lies in rs.
func covers(rs []PageRange, ps []uint64) bool {
	for _, p := range ps {
		in := false
		for _, r := range rs {
			in = in || (p >= r.First && p < r.First+r.Count)
		}
		if !in {
			return false
		}
	}
	return true
}

func pages(rs []PageRange) uint64 {
	var n uint64
	for _, r := range rs {
		n += r.Count
	}
	return n
}

func pageList(rs []PageRange) []uint64 {
	var out []uint64
	for _, r := range rs {
		for p := r.First; p < r.First+r.Count; p++ {
			out = append(out, p)
		}
	}
	return out
}

func writtenOnly(rs []PageRange) []PageRange {
	var out []PageRange
	for _, r := range rs {
		if r.Written {
			out = append(out, r)
		}
	}
	return out
}
