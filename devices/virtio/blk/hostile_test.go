package blk

import (
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vmmlab/vmm/devices/virtio/queue"
	"github.com/vmmlab/vmm/devices/virtio/queue/queuetest"
)

// hugeDisk is a backend of any size that stores nothing: reads give
// zeros, zeroing only counts the bytes asked for.
type hugeDisk struct {
	zeroed atomic.Int64
	reads  atomic.Int32
	gate   chan struct{} // when set, the first read waits for it
}

func (h *hugeDisk) ReadAt(p []byte, off int64) (int, error) {
	if h.reads.Add(1) == 1 && h.gate != nil {
		<-h.gate
	}
	clear(p)
	return len(p), nil
}
func (h *hugeDisk) WriteAt(p []byte, off int64) (int, error) { return len(p), nil }
func (h *hugeDisk) Sync() error                              { return nil }
func (h *hugeDisk) ZeroRange(off, n int64, punch bool) error { h.zeroed.Add(n); return nil }
func (h *hugeDisk) CanZero() bool                            { return true }

// Defect: one write-zeroes request of 64 overlapping 1 GiB ranges made
// the host zero (on tmpfs: write) 64 GiB. A request's ranges together
// are capped at what the device announces (1 GiB); beyond that it fails
// before any work is done.
func TestZeroRequestsAreCapped(t *testing.T) {
	h := &hugeDisk{}
	d, err := New(h, 1<<40, false, "huge")
	if err != nil {
		t.Fatal(err)
	}
	var segs []byte // one buffer of 64 ranges after the header
	for i := 0; i < maxSegments; i++ {
		segs = append(segs, segment(0, maxRangeSectors, 0)...)
	}
	if r := request(t, d, [][]byte{header(typeWriteZeroes, 0), segs}, []uint32{1}); r.status != statusIOErr {
		t.Errorf("64 GiB of write-zeroes in one request: status %d, want an I/O error", r.status)
	}
	if z := h.zeroed.Load(); z != 0 {
		t.Errorf("the host zeroed %d GiB for a refused request", z>>30)
	}
	if r := request(t, d, [][]byte{header(typeWriteZeroes, 0), segment(0, maxRangeSectors/2, 0), segment(8, maxRangeSectors/2, 0)}, []uint32{1}); r.status != statusOK {
		t.Errorf("1 GiB in two ranges: status %d", r.status)
	}
}

// Defect: on a file system without FALLOC_FL_ZERO_RANGE (tmpfs) write-
// zeroes fell back to writing zeros. It is not offered there now (discard,
// which punches holes, still is), and a driver that sends it anyway gets
// an error at once.
func TestWriteZeroesOnlyWhereCheap(t *testing.T) {
	var st unix.Statfs_t
	if unix.Statfs("/dev/shm", &st) != nil || st.Type != unix.TMPFS_MAGIC {
		t.Skip("needs /dev/shm on tmpfs")
	}
	dir, err := os.MkdirTemp("/dev/shm", "vmm-blk-")
	if err != nil {
		t.Skip(err)
	}
	defer os.RemoveAll(dir)
	p := filepath.Join(dir, "disk.img")
	if err := os.WriteFile(p, pattern(64*sectorSize), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := Open(p, false)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if f := d.Features(); f&featureWriteZeroes != 0 || f&featureDiscard == 0 {
		t.Errorf("on tmpfs: write-zeroes offered %v, discard offered %v; want false, true", f&featureWriteZeroes != 0, f&featureDiscard != 0)
	}
	if r := request(t, d, [][]byte{header(typeWriteZeroes, 0), segment(0, 8, 0)}, []uint32{1}); r.status != statusIOErr {
		t.Errorf("write-zeroes on tmpfs: status %d, want an I/O error", r.status)
	}
	if st, _ := os.Stat(p); st.Size() != 64*sectorSize {
		t.Errorf("the probe changed the disk's size to %d", st.Size())
	}
}

// Defect: the worker served its whole queue before it looked at stop, so
// a reset (or vmm's shutdown) waited for every queued request. It stops
// between requests now.
func TestResetStopsBetweenRequests(t *testing.T) {
	h := &hugeDisk{gate: make(chan struct{})}
	d, err := New(h, 1<<30, false, "slow")
	if err != nil {
		t.Fatal(err)
	}
	drv := queuetest.New(16, 1<<20)
	irq := queuetest.NewIRQ()
	if err := d.Activate(drv.Mem, 0, []*queue.Queue{&drv.Queue}, irq); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ { // 15 of the queue's 16 descriptors
		drv.Add([][]byte{header(typeIn, uint64(i))}, []uint32{512, 1})
	}
	d.Notify(0)
	for h.reads.Load() == 0 {
		if err := d.Failed(); err != nil {
			t.Fatalf("the device failed: %v", err)
		}
		time.Sleep(time.Millisecond)
	}
	reset := make(chan struct{})
	go func() { d.Reset(); close(reset) }()
	for { // Reset has taken the activation's stop channel, and closes it next
		if d.Workers.Stopping() {
			break
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(10 * time.Millisecond)
	close(h.gate)
	select {
	case <-reset:
	case <-time.After(10 * time.Second):
		t.Fatal("Reset did not return")
	}
	if n := h.reads.Load(); n != 1 {
		t.Errorf("the worker served %d of 5 queued requests after the reset began, want 1", n)
	}
}
