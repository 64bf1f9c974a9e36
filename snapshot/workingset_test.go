package snapshot

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// goldenWorkingSet is testdata/working-set.v1: the format must not change
// under files written before.
var goldenWorkingSet = []PageRange{{0, 16, false}, {16, 4, true}, {256, 1, false}, {1024, 300, true}, {32767, 1, false}}

func TestWorkingSetGolden(t *testing.T) {
	want, err := os.ReadFile("testdata/working-set.v1")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := EncodeWorkingSet(&b, goldenWorkingSet); err != nil || b.String() != string(want) {
		t.Errorf("encoded %q, %v; want the golden file's %q", b.String(), err, want)
	}
	got, err := DecodeWorkingSet(bytes.NewReader(want), 128<<20)
	if err != nil || len(got) != len(goldenWorkingSet) {
		t.Fatalf("decoded %v, %v", got, err)
	}
	for i := range got {
		if got[i] != goldenWorkingSet[i] {
			t.Errorf("range %d: %v, want %v", i, got[i], goldenWorkingSet[i])
		}
	}
}

func TestDecodeWorkingSetRefuses(t *testing.T) {
	const mem = 128 << 20 // 32768 pages
	for _, c := range []struct{ name, text, want string }{
		{"no header", "0 16 r\n", "header"},
		{"another version", "vmm-working-set 2\n0 1 r\n", "header"},
		{"beyond the memory", "vmm-working-set 1\n32767 2 r\n", "beyond"},
		{"far beyond", "vmm-working-set 1\n18446744073709551615 1 r\n", "beyond"},
		{"a wrapping count", "vmm-working-set 1\n10 18446744073709551615 w\n", "beyond"},
		{"out of order", "vmm-working-set 1\n100 1 r\n50 1 r\n", "order"},
		{"overlapping", "vmm-working-set 1\n100 10 r\n105 1 w\n", "order"},
		{"adjacent of one kind", "vmm-working-set 1\n100 10 w\n110 1 w\n", "continues"},
		{"an empty range", "vmm-working-set 1\n100 0 r\n", "COUNT above 0"},
		{"a negative page", "vmm-working-set 1\n-1 1 r\n", "FIRST COUNT"},
		{"a plus sign", "vmm-working-set 1\n+1 1 r\n", "FIRST COUNT"},
		{"no kind", "vmm-working-set 1\n1 1\n", "FIRST COUNT"},
		{"another kind", "vmm-working-set 1\n1 1 x\n", "FIRST COUNT"},
		{"four fields", "vmm-working-set 1\n1 1 r r\n", "FIRST COUNT"},
		{"two spaces", "vmm-working-set 1\n1  1 r\n", "FIRST COUNT"},
		{"hex", "vmm-working-set 1\n0x10 1 r\n", "FIRST COUNT"},
		{"a long line", "vmm-working-set 1\n" + strings.Repeat("1", 100) + " 1 r\n", "too long"},
	} {
		_, err := DecodeWorkingSet(strings.NewReader(c.text), mem)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v; want an error saying %q", c.name, err, c.want)
		}
	}
	if rs, err := DecodeWorkingSet(strings.NewReader("vmm-working-set 1\n"), mem); err != nil || len(rs) != 0 {
		t.Errorf("an empty working set: %v, %v", rs, err)
	}
}

// The first writer's working set stays; a second gets
// ErrWorkingSetExists; no temporary file is left.
func TestPublishWorkingSet(t *testing.T) {
	dir := t.TempDir()
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := PublishWorkingSet(fd, goldenWorkingSet); err != nil {
		t.Fatal(err)
	}
	if err := PublishWorkingSet(fd, []PageRange{{5, 5, true}}); !errors.Is(err, ErrWorkingSetExists) {
		t.Errorf("a second writer: %v", err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, WorkingSetFile))
	if golden, _ := os.ReadFile("testdata/working-set.v1"); string(b) != string(golden) {
		t.Errorf("the file holds %q", b)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("the directory holds %d files", len(ents))
	}
}

// Whatever a working-set file holds, decoding it returns ranges inside
// the memory in order, or an error; never a panic. What it accepts
// encodes back to the same ranges.
func FuzzDecodeWorkingSet(f *testing.F) {
	golden, _ := os.ReadFile("testdata/working-set.v1")
	f.Add(golden, uint64(128<<20))
	f.Add([]byte("vmm-working-set 1\n0 1 r\n1 3 w\n"), uint64(1<<20))
	f.Add([]byte("vmm-working-set 1\n"), uint64(0))
	f.Fuzz(func(t *testing.T, b []byte, mem uint64) {
		rs, err := DecodeWorkingSet(bytes.NewReader(b), mem)
		if err != nil {
			return
		}
		for i, r := range rs {
			if r.Count == 0 || r.First+r.Count > mem/pageSize || r.First+r.Count < r.First {
				t.Fatalf("accepted %v for %d bytes of memory", rs, mem)
			}
			if i > 0 && (r.First < rs[i-1].First+rs[i-1].Count || r.First == rs[i-1].First+rs[i-1].Count && r.Written == rs[i-1].Written) {
				t.Fatalf("accepted %v: ranges out of order or unmerged", rs)
			}
		}
		var enc bytes.Buffer
		EncodeWorkingSet(&enc, rs)
		again, err := DecodeWorkingSet(&enc, mem)
		if err != nil || len(again) != len(rs) {
			t.Fatalf("re-encoded %v does not decode: %v", rs, err)
		}
	})
}
