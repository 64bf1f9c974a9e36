package selfmem

import (
	"bufio"
	"context"
	"errors"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
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

// Keep drops at once, after each wait, and then on and on at the last
// wait, until its context ends; a failed drop ends it with the error.
func TestKeepDroppingRepeatsTheLastWait(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	drops := 0
	err := keepDropping(ctx, []time.Duration{time.Millisecond, 2 * time.Millisecond}, func() error {
		drops++
		if drops == 5 { // past the two waits: the last one repeats
			cancel()
		}
		return nil
	})
	if err != nil || drops != 5 {
		t.Errorf("keepDropping: %d drops, err %v; want 5 drops, nil", drops, err)
	}

	boom := errors.New("madvise refused")
	drops = 0
	err = keepDropping(context.Background(), []time.Duration{time.Millisecond}, func() error {
		drops++
		if drops == 3 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || drops != 3 {
		t.Errorf("keepDropping with a failing drop: %d drops, err %v; want 3, %v", drops, err, boom)
	}

	drops = 0
	if err := keepDropping(context.Background(), nil, func() error { drops++; return nil }); err != nil || drops != 1 {
		t.Errorf("keepDropping without waits: %d drops, err %v; want one drop", drops, err)
	}
}

// The schedule starts within seconds of boot and backs off to no more
// than one drop a minute.
func TestRedropsBackOff(t *testing.T) {
	w := Redrops()
	if len(w) == 0 || w[0] > 2*time.Second {
		t.Fatalf("Redrops %v: the first redrop must come within seconds", w)
	}
	for i := 1; i < len(w); i++ {
		if w[i] < w[i-1] {
			t.Errorf("Redrops %v: wait %d shorter than the one before", w, i)
		}
	}
	if last := w[len(w)-1]; last < time.Minute {
		t.Errorf("Redrops %v: the repeating wait %v is under a minute", w, last)
	}
}
