package machine

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/vmmlab/vmm/memory"
	"github.com/vmmlab/vmm/snapshot"
	"golang.org/x/sys/unix"
)

// WorkingSetMode is what a restore does with its snapshot's working set:
// the guest pages an earlier restore touched (snapshot.WorkingSetFile).
type WorkingSetMode int

// The working-set modes.
const (
	WorkingSetAuto   WorkingSetMode = iota // prefetch when the snapshot has a working set
	WorkingSetOn                           // prefetch; say so when there is none
	WorkingSetOff                          // fault every page in on first touch (a lazy restore)
	WorkingSetRecord                       // note the pages this guest touches, for later restores
)

// String is the mode as vmm restore --working-set spells it.
func (w WorkingSetMode) String() string {
	return [...]string{"auto", "on", "off", "record"}[w]
}

// ErrNotRecording: the machine was not restored with WorkingSetRecord.
var ErrNotRecording = errors.New("not recording a working set (vmm restore --working-set record)")

// maxWorkingSetBytes bounds the working-set file a restore reads.
const maxWorkingSetBytes = 64 << 20

// WorkingSetReport says what a restore did with the working set.
type WorkingSetReport struct {
	Mode       string
	Ranges     int           // ranges read and prefetched
	Pages      uint64        // pages prefetched
	Prefetch   time.Duration // reading them
	Recorded   uint64        // pages written to the snapshot's working set (record)
	Problem    string        // why a working set was not used or not written (the restore went on)
	recordedAt time.Time
}

// workingSet is a restored machine's working-set state.
type workingSet struct {
	mode    WorkingSetMode
	mu      sync.Mutex
	report  WorkingSetReport
	dirfd   int      // the snapshot directory, for record (-1: none)
	pagemap *os.File // this process's pagemap, for record
}

// openWorkingSet prepares mode for the snapshot in dir: for record, the
// directory and the process's pagemap are opened now, before vmm is
// confined, and written only through these descriptors.
func openWorkingSet(dir string, mode WorkingSetMode) (*workingSet, error) {
	ws := &workingSet{mode: mode, dirfd: -1, report: WorkingSetReport{Mode: mode.String()}}
	if mode != WorkingSetRecord {
		return ws, nil
	}
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("working set: %s: %w", dir, err)
	}
	pm, err := os.Open("/proc/self/pagemap")
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("working set: %w", err)
	}
	ws.dirfd, ws.pagemap = fd, pm
	return ws, nil
}

// prefetch reads the snapshot's working set into guest RAM's page tables,
// for the auto and on modes. A missing, corrupt or unfitting file is
// noted in the report and the restore goes on lazily.
func (ws *workingSet) prefetch(dir string, mem *memory.Guest) {
	if ws.mode != WorkingSetAuto && ws.mode != WorkingSetOn {
		return
	}
	start := time.Now()
	rs, err := readWorkingSet(filepath.Join(dir, snapshot.WorkingSetFile), mem.Size())
	if errors.Is(err, os.ErrNotExist) && ws.mode == WorkingSetAuto {
		ws.report.Mode = "off (the snapshot has no working set)"
		return
	}
	if err == nil {
		ws.report.Mode = "on"
		ws.report.Pages, err = mem.Prefetch(rs)
		ws.report.Ranges = len(rs)
	}
	ws.report.Prefetch = time.Since(start)
	if err != nil {
		ws.report.Problem = fmt.Sprintf("working set ignored, the restore goes on lazily: %v", err)
	}
}

// readWorkingSet reads and checks a working-set file for memBytes of
// guest RAM. It must be a regular file, not a symlink: the snapshot
// directory may be another user's, and a FIFO there would hang the
// restore.
func readWorkingSet(path string, memBytes uint64) ([]memory.PageRange, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	rs, err := snapshot.DecodeWorkingSet(io.LimitReader(f, maxWorkingSetBytes), memBytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out := make([]memory.PageRange, len(rs))
	for i, r := range rs {
		out[i] = memory.PageRange{First: r.First, Count: r.Count, Written: r.Written}
	}
	return out, nil
}

// record writes the pages of mem mapped now as the snapshot's working
// set, once: a second call, or another restore that wrote it first, is
// snapshot.ErrWorkingSetExists.
func (ws *workingSet) record(mem *memory.Guest) (uint64, error) {
	if ws == nil || ws.mode != WorkingSetRecord {
		return 0, ErrNotRecording
	}
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if !ws.report.recordedAt.IsZero() {
		return 0, snapshot.ErrWorkingSetExists
	}
	rs, err := mem.Resident(ws.pagemap)
	if err != nil {
		return 0, fmt.Errorf("working set: %w", err)
	}
	out := make([]snapshot.PageRange, len(rs))
	var pages uint64
	for i, r := range rs {
		out[i] = snapshot.PageRange{First: r.First, Count: r.Count, Written: r.Written}
		pages += r.Count
	}
	ws.report.recordedAt = time.Now()
	if err := snapshot.PublishWorkingSet(ws.dirfd, out); err != nil {
		return 0, err
	}
	ws.report.Recorded = pages
	return pages, nil
}

// recordAtStop records the working set at the end of the run if nothing
// did before, noting a failure in the report.
func (ws *workingSet) recordAtStop(mem *memory.Guest) {
	if ws == nil || ws.mode != WorkingSetRecord {
		return
	}
	if _, err := ws.record(mem); err != nil && !errors.Is(err, snapshot.ErrWorkingSetExists) {
		ws.mu.Lock()
		ws.report.Problem = err.Error()
		ws.mu.Unlock()
	}
}

// reportNow is the report so far.
func (ws *workingSet) reportNow() *WorkingSetReport {
	if ws == nil {
		return nil
	}
	ws.mu.Lock()
	defer ws.mu.Unlock()
	r := ws.report
	return &r
}

// close releases the descriptors record kept.
func (ws *workingSet) close() error {
	var errs []error
	if ws.dirfd >= 0 {
		errs = append(errs, unix.Close(ws.dirfd))
		ws.dirfd = -1
	}
	if ws.pagemap != nil {
		errs = append(errs, ws.pagemap.Close())
		ws.pagemap = nil
	}
	return errors.Join(errs...)
}

// WorkingSet says what the restore did with its working set so far (nil
// for a boot).
func (m *Machine) WorkingSet() *WorkingSetReport { return m.ws.reportNow() }

// RecordWorkingSet writes the pages the guest has touched since the
// restore as its snapshot's working set (PUT /vm/working-set): once, by
// the first writer. It returns the pages written.
func (m *Machine) RecordWorkingSet() (uint64, error) {
	if err := m.life.begin("working set"); err != nil {
		return 0, err
	}
	defer m.life.done()
	return m.ws.record(m.mem)
}
