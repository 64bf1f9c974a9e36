package snapshot

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// WorkingSetFile is the file, in a snapshot directory, that lists the
// guest pages a restored guest touched (vmm restore --working-set
// record): a later restore reads them in one pass before its vCPUs run.
const WorkingSetFile = "working-set"

// workingSetHeader opens the file and says its version. The ranges
// follow, one a line: the first guest page frame and the page count, in
// decimal, and r (read) or w (written by the guest), in address order.
const workingSetHeader = "vmm-working-set 1"

// maxWorkingSetRanges bounds what a reader takes from a file it did not
// write itself.
const maxWorkingSetRanges = 1 << 20

// ErrWorkingSetExists: the snapshot has its working set already (the
// first writer wins).
var ErrWorkingSetExists = errors.New("the snapshot has a working set already")

// PageRange is guest page frames [First, First+Count), which the guest
// read or wrote.
type PageRange struct {
	First, Count uint64
	Written      bool
}

// kindOf spells Written in the file.
var kindOf = map[bool]string{false: "r", true: "w"}

// EncodeWorkingSet writes rs in the working-set format.
func EncodeWorkingSet(w io.Writer, rs []PageRange) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, workingSetHeader)
	for _, r := range rs {
		fmt.Fprintf(bw, "%d %d %s\n", r.First, r.Count, kindOf[r.Written])
	}
	return bw.Flush()
}

// DecodeWorkingSet reads a working-set file for a guest of memBytes of
// RAM. Anything but the exact format (ranges in order, apart, non-empty,
// inside the memory, neighbours of one kind merged) is an error: the file is a hint from a directory
// another user may have written, and a restore without it is only
// slower.
func DecodeWorkingSet(r io.Reader, memBytes uint64) ([]PageRange, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64), 64)
	if !sc.Scan() || sc.Text() != workingSetHeader {
		return nil, fmt.Errorf("working set: no %q header", workingSetHeader)
	}
	pages := memBytes / pageSize
	var out []PageRange
	var last *PageRange
	for line := 2; sc.Scan(); line++ {
		if len(out) == maxWorkingSetRanges {
			return nil, fmt.Errorf("working set: more than %d ranges", maxWorkingSetRanges)
		}
		r, err := parseRange(sc.Text())
		if err != nil {
			return nil, fmt.Errorf("working set line %d: %w", line, err)
		}
		switch {
		case r.First >= pages || r.Count > pages-r.First:
			return nil, fmt.Errorf("working set line %d: pages %d+%d lie beyond the guest's %d", line, r.First, r.Count, pages)
		case last != nil && (r.First < last.First+last.Count || r.First == last.First+last.Count && r.Written == last.Written):
			return nil, fmt.Errorf("working set line %d: page %d is out of order, overlaps, or continues the range before", line, r.First)
		}
		out = append(out, r)
		last = &out[len(out)-1]
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("working set: %w", err)
	}
	return out, nil
}

// parseRange reads "FIRST COUNT r|w".
func parseRange(s string) (PageRange, error) {
	f := strings.Split(s, " ")
	bad := fmt.Errorf("want \"FIRST COUNT r|w\", two decimal page numbers, COUNT above 0: %.40q", s)
	if len(f) != 3 || (f[2] != "r" && f[2] != "w") || strings.HasPrefix(f[0], "+") || strings.HasPrefix(f[1], "+") {
		return PageRange{}, bad
	}
	first, err1 := strconv.ParseUint(f[0], 10, 64)
	count, err2 := strconv.ParseUint(f[1], 10, 64)
	if err1 != nil || err2 != nil || count == 0 {
		return PageRange{}, bad
	}
	return PageRange{first, count, f[2] == "w"}, nil
}

// PublishWorkingSet writes rs as the working-set file of the snapshot
// directory open as dirfd: into a file of its own first, then linked in
// under its name, so that a reader never sees half a file and the first
// writer wins (ErrWorkingSetExists for the others). It works on the
// directory's descriptor, opened when the restore began, so that a
// confined or chrooted vmm writes only there.
func PublishWorkingSet(dirfd int, rs []PageRange) error {
	tmp := fmt.Sprintf(".%s.%d", WorkingSetFile, unix.Getpid())
	fd, err := unix.Openat(dirfd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("working set: %w", err)
	}
	defer unix.Unlinkat(dirfd, tmp, 0)
	f := fdWriter(fd)
	err = EncodeWorkingSet(f, rs)
	if err == nil {
		err = unix.Fsync(fd)
	}
	unix.Close(fd)
	if err != nil {
		return fmt.Errorf("working set: %w", err)
	}
	if err := unix.Linkat(dirfd, tmp, dirfd, WorkingSetFile, 0); err != nil {
		if errors.Is(err, unix.EEXIST) {
			return ErrWorkingSetExists
		}
		return fmt.Errorf("working set: %w", err)
	}
	return nil
}

// fdWriter writes to a raw descriptor.
type fdWriter int

func (f fdWriter) Write(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k, err := unix.Write(int(f), p[n:])
		if err != nil {
			return n, err
		}
		n += k
	}
	return n, nil
}
