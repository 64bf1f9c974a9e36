package selfmem

import (
	"bufio"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

const smaps = `00400000-00401000 r--p 00000000 08:01 42   /usr/bin/vmm
Size:                  4 kB
Rss:                   4 kB
Anonymous:             0 kB
00401000-00800000 r-xp 00001000 08:01 42   /usr/bin/vmm
Size:               4092 kB
Rss:                3000 kB
Anonymous:             0 kB
00800000-00900000 r--p 00400000 08:01 42   /usr/bin/vmm
Size:               1024 kB
Anonymous:             8 kB
00900000-00910000 rw-p 00500000 08:01 42   /usr/bin/vmm
Anonymous:            64 kB
00910000-00920000 r--p 00000000 08:01 43   /usr/lib/other.so
Anonymous:             0 kB
7f0000000000-7f0000100000 rw-p 00000000 00:00 0
Anonymous:          1024 kB
`

// Only the binary's read-only mappings without a private page are taken:
// not its writable data, not a read-only one holding a copied page (a
// relocated section), not another file's, not anonymous memory.
func TestFileOnlySpans(t *testing.T) {
	got, err := fileOnlySpans(strings.NewReader(smaps), "/usr/bin/vmm")
	if err != nil {
		t.Fatal(err)
	}
	want := []Span{{0x400000, 0x401000}, {0x401000, 0x800000}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("spans %#v, want %#v", got, want)
	}
	if got, _ := fileOnlySpans(strings.NewReader("garbage\n\nzz-yy r-xp 0 0 0 /usr/bin/vmm\nAnonymous: x\n"), "/usr/bin/vmm"); len(got) != 0 {
		t.Errorf("spans from garbage: %#v", got)
	}
}

// In a real process (this test's), dropping the binary's pages lowers
// its resident set, and the code runs on: the test itself goes on
// executing the dropped code.
func TestDropLowersResidentBinary(t *testing.T) {
	b, err := Find()
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Spans) == 0 {
		t.Fatal("no mapping of the test binary found")
	}
	before := binaryRss(t)
	if err := b.Drop(); err != nil {
		t.Fatal(err)
	}
	after := binaryRss(t)
	t.Logf("test binary resident: %d KiB before, %d KiB after the drop", before, after)
	if after >= before {
		t.Errorf("resident binary %d KiB after the drop, %d before", after, before)
	}
	if s := strconv.Itoa(12345); s != "12345" { // code and data read back
		t.Errorf("strconv after the drop: %q", s)
	}
}

// binaryRss sums the Rss of the test binary's mappings, in KiB.
func binaryRss(t *testing.T) int {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	total, inExe := 0, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if _, ok := mappingHeader(fields); ok {
			inExe = len(fields) >= 6 && fields[5] == exe
			continue
		}
		if inExe && len(fields) >= 2 && fields[0] == "Rss:" {
			n, _ := strconv.Atoi(fields[1])
			total += n
		}
	}
	return total
}
