// Package selfmem trims vmm's own resident memory once its guest runs:
// the pages of vmm's binary that only the set-up used (flag parsing, the
// kernel loader, ACPI tables, device set-up) stay mapped until something
// drops them, and they count in vmm's resident set, which is the overhead
// a VM's host pays beside guest RAM.
package selfmem

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// Span is one mapping of the binary: [Start, End) in vmm's address space.
type Span struct{ Start, End uintptr }

// Binary is the read-only mappings of vmm's executable (its code and
// read-only data), found before vmm is confined: a chroot hides
// /proc/self/smaps, and the seccomp filter refuses opening it.
type Binary struct{ Spans []Span }

// Find reads /proc/self/smaps for the mappings of the running executable
// that can be dropped and read back from the file alone.
func Find() (Binary, error) {
	exe, err := os.Executable()
	if err != nil {
		return Binary{}, fmt.Errorf("own binary: %w", err)
	}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return Binary{}, fmt.Errorf("own mappings: %w", err)
	}
	defer f.Close()
	spans, err := fileOnlySpans(f, exe)
	if err != nil {
		return Binary{}, fmt.Errorf("own mappings: %w", err)
	}
	return Binary{Spans: spans}, nil
}

// fileOnlySpans returns, from an smaps listing, the mappings of file exe
// that are not writable and hold no anonymous (copied-on-write) page:
// every page of them is the file's, so dropping it loses nothing, and the
// next access reads it back from the page cache. A mapping with a private
// copy (a relocated read-only section of a position-independent binary)
// is left alone.
func fileOnlySpans(r io.Reader, exe string) ([]Span, error) {
	var spans []Span
	var cur *Span
	keep := false
	flush := func() {
		if cur != nil && keep {
			spans = append(spans, *cur)
		}
		cur, keep = nil, false
	}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if s, ok := mappingHeader(fields); ok {
			flush()
			if len(fields) >= 6 && fields[5] == exe && !strings.Contains(fields[1], "w") {
				cur, keep = &s, true
			}
			continue
		}
		if cur != nil && fields[0] == "Anonymous:" && (len(fields) < 2 || fields[1] != "0") {
			keep = false
		}
	}
	flush()
	return spans, sc.Err()
}

// mappingHeader parses the first line of an smaps entry:
// "start-end perms offset dev inode [path]".
func mappingHeader(fields []string) (Span, bool) {
	if len(fields) < 5 || len(fields[1]) != 4 {
		return Span{}, false
	}
	lo, hi, ok := strings.Cut(fields[0], "-")
	if !ok {
		return Span{}, false
	}
	start, err1 := strconv.ParseUint(lo, 16, 64)
	end, err2 := strconv.ParseUint(hi, 16, 64)
	if err1 != nil || err2 != nil || end <= start {
		return Span{}, false
	}
	return Span{Start: uintptr(start), End: uintptr(end)}, true
}

// Drop unmaps the pages of every span from vmm's page tables
// (MADV_DONTNEED); they stay in the host's page cache, shared, and an
// access maps them again. Only the pages the run keeps using come back.
func (b Binary) Drop() error {
	for _, s := range b.Spans {
		if err := dontNeed(s); err != nil {
			return fmt.Errorf("drop own pages %#x-%#x: %w", s.Start, s.End, err)
		}
	}
	return nil
}

// Redrops is when Keep drops the binary's pages again after the first
// drop, each a wait after the one before: soon after boot, when the
// guest's workload starts and vmm serves its first requests with code it
// will not run again, then less and less often, so that a busy VM pays
// the faults of its working set at most once a minute.
func Redrops() []time.Duration {
	return []time.Duration{time.Second, 2 * time.Second, 4 * time.Second,
		8 * time.Second, 16 * time.Second, 32 * time.Second, time.Minute}
}

// Keep drops b's pages now, then after each wait in waits, and after the
// last one again and again, until ctx ends. An idle VM's vmm keeps only
// the pages its idle loop touches between two drops. It returns the first
// failed drop's error (the later ones would fail alike) or nil once ctx
// ends.
func (b Binary) Keep(ctx context.Context, waits []time.Duration) error {
	return keepDropping(ctx, waits, b.Drop)
}

func keepDropping(ctx context.Context, waits []time.Duration, drop func() error) error {
	if err := drop(); err != nil {
		return err
	}
	for i := 0; len(waits) > 0; i++ {
		t := time.NewTimer(waits[min(i, len(waits)-1)])
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		if err := drop(); err != nil {
			return err
		}
	}
	return nil
}
