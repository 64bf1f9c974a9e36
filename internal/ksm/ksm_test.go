package ksm

import (
	"context"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Two areas of this process that hold the same bytes, offered to KSM:
// with ksmd switched on they merge, this process's merged-page count and
// the host's counters show it, and the host's settings are put back.
func TestEnableMergesAndRestores(t *testing.T) {
	if err := Available(); err != nil {
		t.Skipf("no KSM to switch on here: %v", err)
	}
	before := map[string][]byte{}
	for _, k := range knobs {
		before[k], _ = os.ReadFile(Dir + "/" + k)
	}
	const pages = 256
	var areas [][]byte
	for range 2 {
		b, err := unix.Mmap(-1, 0, pages*PageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Munmap(b)
		if err := unix.Madvise(b, unix.MADV_MERGEABLE); err != nil {
			t.Fatal(err)
		}
		for i := range b {
			b[i] = byte(i*7 + i/PageSize) // differs page to page, same in both areas
		}
		areas = append(areas, b)
	}
	cpu0, err := DaemonCPU()
	if err != nil {
		t.Fatal(err)
	}
	restore, err := Enable(Settings{PagesToScan: 1000, SleepMillisecs: 10})
	if err != nil {
		t.Fatal(err)
	}
	st, ok, err := Settle(context.Background(), time.Minute, 50*time.Millisecond)
	merged, merr := ProcessMerging(os.Getpid())
	cpu1, _ := DaemonCPU()
	if rerr := restore(); rerr != nil {
		t.Error(rerr)
	}
	for _, k := range knobs {
		if now, _ := os.ReadFile(Dir + "/" + k); string(now) != string(before[k]) {
			t.Errorf("%s is %q after the run, was %q", k, now, before[k])
		}
	}
	if err != nil || !ok {
		t.Fatalf("merging did not settle in a minute: %+v, %v", st, err)
	}
	if merr != nil || merged < pages || st.PagesSharing < pages {
		t.Errorf("%d of this process's pages merged (%v), %d sharing on the host; want at least %d each", merged, merr, st.PagesSharing, pages)
	}
	if cpu1 < cpu0 {
		t.Errorf("ksmd's CPU time went back: %v then %v", cpu0, cpu1)
	}
	t.Logf("merged %d pages, %+v, ksmd CPU %v", merged, st, cpu1-cpu0)
	_ = areas
}

func TestCPUOfStat(t *testing.T) {
	line := "40 (ksmd) S 2 0 0 0 -1 2129984 0 0 0 0 150 250 0 0 25 5 1 0 33 0 0"
	if d, err := cpuOfStat(line); err != nil || d != 4*time.Second {
		t.Errorf("cpuOfStat = %v, %v; want 4s", d, err)
	}
	for _, bad := range []string{"", "40 (ksmd S", "40 (ksmd) S 2", "40 (k) S 2 0 0 0 -1 1 0 0 0 0 x 2"} {
		if _, err := cpuOfStat(bad); err == nil {
			t.Errorf("cpuOfStat(%q) took it", bad)
		}
	}
}

func TestSettled(t *testing.T) {
	for _, c := range []struct {
		a, b int64
		want bool
	}{{1000, 1005, true}, {1000, 1020, false}, {0, 3, true}, {0, 100, false}, {2000, 1990, true}} {
		if got := settled(c.a, c.b); got != c.want {
			t.Errorf("settled(%d, %d) = %v", c.a, c.b, got)
		}
	}
}
