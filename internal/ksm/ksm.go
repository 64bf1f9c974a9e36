// Package ksm owns the host's kernel same-page merging: its switches and
// counters under /sys/kernel/mm/ksm, ksmd's CPU time, and how many pages
// of one process it merged. A run that turns ksmd on puts the host's
// settings back when it ends (Enable's restore).
package ksm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Dir is where the kernel shows KSM.
const Dir = "/sys/kernel/mm/ksm"

// PageSize is the size of a page KSM merges.
const PageSize = 4096

// Available says why this host cannot merge pages, or nil.
func Available() error {
	if _, err := os.Stat(filepath.Join(Dir, "run")); err != nil {
		return fmt.Errorf("the host kernel has no KSM (%s: %w)", Dir, err)
	}
	if err := writeable(filepath.Join(Dir, "run")); err != nil {
		return fmt.Errorf("cannot switch KSM on: %w", err)
	}
	return nil
}

func writeable(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	return f.Close()
}

// Settings are the knobs a run changes.
type Settings struct {
	PagesToScan    int // pages ksmd scans per wake-up
	SleepMillisecs int // how long it sleeps between wake-ups
}

// knobs are the files Enable writes, in the order it writes them; run
// last, so that ksmd starts with the run's pace.
var knobs = []string{"pages_to_scan", "sleep_millisecs", "run"}

// Enable starts ksmd at pace s and returns the function that puts back
// every setting it changed (call it on every path).
func Enable(s Settings) (restore func() error, err error) {
	saved := map[string]string{}
	for _, k := range knobs {
		b, err := os.ReadFile(filepath.Join(Dir, k))
		if err != nil {
			return nil, fmt.Errorf("ksm: %w", err)
		}
		saved[k] = strings.TrimSpace(string(b))
	}
	restore = func() error {
		var errs []error
		for i := len(knobs) - 1; i >= 0; i-- { // run first: stop ksmd, then its pace
			if err := os.WriteFile(filepath.Join(Dir, knobs[i]), []byte(saved[knobs[i]]), 0); err != nil {
				errs = append(errs, fmt.Errorf("ksm: putting back %s: %w", knobs[i], err))
			}
		}
		return errors.Join(errs...)
	}
	want := map[string]int{"pages_to_scan": s.PagesToScan, "sleep_millisecs": s.SleepMillisecs, "run": 1}
	for _, k := range knobs {
		if err := os.WriteFile(filepath.Join(Dir, k), []byte(strconv.Itoa(want[k])), 0); err != nil {
			return nil, errors.Join(fmt.Errorf("ksm: setting %s: %w", k, err), restore())
		}
	}
	return restore, nil
}

// Stats are KSM's counters.
type Stats struct {
	PagesShared  int64 // host pages that back merged pages
	PagesSharing int64 // guest pages merged into them beyond the first: the pages saved
	FullScans    int64 // how many times ksmd went over every mergeable area
}

// Saved is the memory merging saves now.
func (s Stats) Saved() int64 { return s.PagesSharing * PageSize }

// Read reads the counters.
func Read() (Stats, error) {
	var s Stats
	for name, v := range map[string]*int64{"pages_shared": &s.PagesShared, "pages_sharing": &s.PagesSharing, "full_scans": &s.FullScans} {
		n, err := readInt(filepath.Join(Dir, name))
		if err != nil {
			return s, fmt.Errorf("ksm: %w", err)
		}
		*v = n
	}
	return s, nil
}

func readInt(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return n, nil
}

// Settle waits until merging settles, pages_sharing changing by less
// than 1% over two full scans, or until limit or ctx ends; it says which.
func Settle(ctx context.Context, limit time.Duration, poll time.Duration) (Stats, bool, error) {
	deadline := time.Now().Add(limit)
	last, err := Read()
	if err != nil {
		return last, false, err
	}
	for {
		select {
		case <-ctx.Done():
			return last, false, ctx.Err()
		case <-time.After(poll):
		}
		now, err := Read()
		if err != nil {
			return now, false, err
		}
		if now.FullScans >= last.FullScans+2 {
			if settled(last.PagesSharing, now.PagesSharing) {
				return now, true, nil
			}
			last = now
		}
		if time.Now().After(deadline) {
			return now, false, nil
		}
	}
}

// settled says whether pages_sharing moved by less than 1% (a few pages
// when there is hardly any sharing).
func settled(before, after int64) bool {
	d := after - before
	if d < 0 {
		d = -d
	}
	return d*100 < max(before, after) || d <= 4
}

// ProcessMerging is how many of process pid's pages KSM merged now
// (/proc/PID/ksm_merging_pages, Linux 5.19 and later).
func ProcessMerging(pid int) (int64, error) {
	return readInt(fmt.Sprintf("/proc/%d/ksm_merging_pages", pid))
}

// DaemonCPU is the CPU time ksmd has used since the host booted.
func DaemonCPU() (time.Duration, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		comm, err := os.ReadFile(filepath.Join("/proc", e.Name(), "comm"))
		if err != nil || strings.TrimSpace(string(comm)) != "ksmd" {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			return 0, err
		}
		return cpuOfStat(string(stat))
	}
	return 0, errors.New("ksm: no ksmd thread")
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times on Linux.
const clockTicks = 100

// cpuOfStat is utime+stime of a /proc/PID/stat line.
func cpuOfStat(stat string) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("ksm: a stat line without its name: %.40q", stat)
	}
	f := strings.Fields(stat[i+1:])
	// after the name: state is field 3 of the line, utime 14, stime 15
	if len(f) < 13 {
		return 0, fmt.Errorf("ksm: a short stat line: %.80q", stat)
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("ksm: stat times: %w", err)
	}
	return time.Duration(u+s) * time.Second / clockTicks, nil
}
