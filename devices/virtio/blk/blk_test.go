package blk

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/vmmlab/vmm/devices/virtio"
	"github.com/vmmlab/vmm/devices/virtio/queue"
	"github.com/vmmlab/vmm/devices/virtio/queue/queuetest"
)

func header(typ uint32, sector uint64) []byte {
	h := make([]byte, headerSize)
	binary.LittleEndian.PutUint32(h, typ)
	binary.LittleEndian.PutUint64(h[8:], sector)
	return h
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i * 7)
	}
	return b
}

// disk makes a disk of size bytes holding pattern(size).
func disk(t testing.TB, size int, ro bool) (*Device, string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(p, pattern(size), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := Open(p, ro)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d, p
}

type result struct {
	drv    *queuetest.Driver
	out    []queuetest.Buffer // the writable buffers
	used   uint32
	status byte
}

// request makes one request available, serves it synchronously and reads
// the used element and the status byte.
func request(t testing.TB, d *Device, readable [][]byte, writable []uint32) result {
	t.Helper()
	drv := queuetest.New(16, 1<<20)
	d.mem, d.q, d.irq = drv.Mem, &drv.Queue, queuetest.NewIRQ()
	head, bufs := drv.Add(readable, writable)
	if err := d.process(nil); err != nil {
		t.Fatalf("process: %v", err)
	}
	h, n, ok := drv.Used()
	if !ok || h != head {
		t.Fatalf("request not completed: %d %v", h, ok)
	}
	out := bufs[len(readable):]
	last := drv.Bytes(out[len(out)-1])
	return result{drv: drv, out: out, used: n, status: last[len(last)-1]}
}

func TestRead(t *testing.T) {
	d, _ := disk(t, 8*sectorSize, false)
	r := request(t, d, [][]byte{header(typeIn, 2)}, []uint32{512, 512, 1})
	got := append(append([]byte(nil), r.drv.Bytes(r.out[0])...), r.drv.Bytes(r.out[1])...)
	if r.status != statusOK || r.used != 1025 || !bytes.Equal(got, pattern(8 * sectorSize)[1024:2048]) {
		t.Fatalf("status %d used %d", r.status, r.used)
	}
}

func TestWriteAndFlush(t *testing.T) {
	d, path := disk(t, 8*sectorSize, false)
	data := bytes.Repeat([]byte("w"), 1024)
	r := request(t, d, [][]byte{header(typeOut, 3), data[:100], data[100:]}, []uint32{1})
	if r.status != statusOK || r.used != 1 {
		t.Fatalf("write: status %d used %d", r.status, r.used)
	}
	if r := request(t, d, [][]byte{header(typeFlush, 0)}, []uint32{1}); r.status != statusOK {
		t.Fatalf("flush: status %d", r.status)
	}
	file, _ := os.ReadFile(path)
	if !bytes.Equal(file[3*512:5*512], data) || !bytes.Equal(file[:3*512], pattern(8 * 512)[:3*512]) {
		t.Fatal("file contents after write")
	}
}

func TestReadOnly(t *testing.T) {
	d, path := disk(t, 4*sectorSize, true)
	if d.Features()&featureRO == 0 {
		t.Fatal("read-only disk does not offer VIRTIO_BLK_F_RO")
	}
	r := request(t, d, [][]byte{header(typeOut, 0), make([]byte, 512)}, []uint32{1})
	if r.status != statusIOErr {
		t.Fatalf("write to read-only disk: status %d", r.status)
	}
	if file, _ := os.ReadFile(path); !bytes.Equal(file, pattern(4*512)) {
		t.Fatal("read-only disk was modified")
	}
	if r := request(t, d, [][]byte{header(typeIn, 0)}, []uint32{512, 1}); r.status != statusOK {
		t.Fatalf("read from read-only disk: status %d", r.status)
	}
}

func TestErrorsAndID(t *testing.T) {
	d, _ := disk(t, 3*sectorSize+100, false) // 3 whole sectors; the tail is not exposed
	var cfg [8]byte
	d.ReadConfig(0, cfg[:])
	if binary.LittleEndian.Uint64(cfg[:]) != 3 {
		t.Fatalf("capacity %d sectors, want 3", binary.LittleEndian.Uint64(cfg[:]))
	}
	for name, c := range map[string]struct {
		readable [][]byte
		writable []uint32
		want     byte
	}{
		"read past the end":      {[][]byte{header(typeIn, 2)}, []uint32{1024, 1}, statusIOErr},
		"read at huge sector":    {[][]byte{header(typeIn, 1<<62)}, []uint32{512, 1}, statusIOErr},
		"partial sector":         {[][]byte{header(typeIn, 0)}, []uint32{100, 1}, statusIOErr},
		"write past the end":     {[][]byte{header(typeOut, 3), make([]byte, 512)}, []uint32{1}, statusIOErr},
		"unsupported type":       {[][]byte{header(99, 0)}, []uint32{1}, statusUnsupp},
		"discard without ranges": {[][]byte{header(typeDiscard, 0)}, []uint32{1}, statusIOErr},
		"discard past the end":   {[][]byte{header(typeDiscard, 0), segment(2, 2, 0)}, []uint32{1}, statusIOErr},
		"zeroes with bad flags":  {[][]byte{header(typeWriteZeroes, 0), segment(0, 1, 2)}, []uint32{1}, statusIOErr},
		"half a segment":         {[][]byte{header(typeDiscard, 0), segment(0, 1, 0)[:8]}, []uint32{1}, statusIOErr},
	} {
		if r := request(t, d, c.readable, c.writable); r.status != c.want {
			t.Errorf("%s: status %d, want %d", name, r.status, c.want)
		}
	}
}

// With event idx, the device publishes avail_event after draining the
// queue; otherwise the driver stops notifying after its first request.
func TestEventIdxPublishesAvailEvent(t *testing.T) {
	d, _ := disk(t, 4*sectorSize, false)
	drv := queuetest.New(16, 1<<20)
	drv.Queue.EventIdx = true
	d.mem, d.q, d.irq = drv.Mem, &drv.Queue, queuetest.NewIRQ()
	for i := 0; i < 3; i++ {
		drv.Add([][]byte{header(typeIn, 0)}, []uint32{512, 1})
	}
	if err := d.process(nil); err != nil {
		t.Fatal(err)
	}
	q := drv.Queue
	b := make([]byte, 2)
	if err := drv.Mem.Read(q.UsedRing+4+8*uint64(q.Size), b); err != nil {
		t.Fatal(err)
	}
	if got := binary.LittleEndian.Uint16(b); got != 3 {
		t.Fatalf("avail_event %d after serving 3 requests, want 3", got)
	}
}

func TestGetID(t *testing.T) {
	d, path := disk(t, 4*sectorSize, false)
	r := request(t, d, [][]byte{header(typeGetID, 0)}, []uint32{idSize, 1})
	want := []byte(path)[:idSize]
	if r.status != statusOK || r.used != idSize+1 || !bytes.Equal(r.drv.Bytes(r.out[0]), want) {
		t.Fatalf("GET_ID: status %d used %d id %q", r.status, r.used, r.drv.Bytes(r.out[0]))
	}
}

// Requests the driver got wrong stop the device with ErrMalformed.
func TestMalformedRequests(t *testing.T) {
	for name, c := range map[string]struct {
		readable [][]byte
		writable []uint32
	}{
		"short header":   {[][]byte{make([]byte, 8)}, []uint32{1}},
		"no status byte": {[][]byte{header(typeIn, 0)}, nil},
	} {
		d, _ := disk(t, 4*sectorSize, false)
		drv := queuetest.New(16, 1<<20)
		d.mem, d.q, d.irq = drv.Mem, &drv.Queue, queuetest.NewIRQ()
		drv.Add(c.readable, c.writable)
		if err := d.process(nil); !errors.Is(err, queue.ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", name, err)
		}
	}
}

// Through Activate and Notify the request is served on the device's own
// goroutine and the driver gets an interrupt; Reset stops the goroutine.
func TestActivateNotify(t *testing.T) {
	d, _ := disk(t, 4*sectorSize, false)
	drv := queuetest.New(16, 1<<20)
	irq := queuetest.NewIRQ()
	if err := d.Activate(drv.Mem, d.Features(), []*queue.Queue{&drv.Queue}, irq); err != nil {
		t.Fatal(err)
	}
	drv.SetUsedEvent(0)
	head, _ := drv.Add([][]byte{header(typeIn, 1)}, []uint32{512, 1})
	d.Notify(0)
	select {
	case <-irq:
	case <-time.After(10 * time.Second):
		t.Fatal("no interrupt")
	}
	if h, n, ok := drv.Used(); !ok || h != head || n != 513 {
		t.Fatalf("used %d %d %v", h, n, ok)
	}
	d.Reset()
	d.Notify(0) // after Reset: nothing listens, and nothing blocks
	if d.Failed() != nil || d.ID() != virtio.IDBlock || len(d.QueueSizes()) != 1 {
		t.Fatal("device state")
	}
	if err := d.Activate(drv.Mem, 0, nil, irq); err == nil {
		t.Fatal("activation without a queue accepted")
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open(filepath.Join(t.TempDir(), "none"), false); err == nil {
		t.Error("missing disk accepted")
	}
	tiny := filepath.Join(t.TempDir(), "tiny")
	os.WriteFile(tiny, make([]byte, 100), 0o644)
	if _, err := Open(tiny, false); err == nil {
		t.Error("disk smaller than a sector accepted")
	}
}

// Any request header and buffer layout: the device answers or reports a
// malformed ring, and never panics.
func FuzzRequest(f *testing.F) {
	f.Add(header(typeIn, 1), uint32(512), uint32(1), uint16(0))
	f.Add(header(typeOut, 0), uint32(0), uint32(1), uint16(512))
	f.Add(append(header(typeDiscard, 0), segment(1, 2, 0)...), uint32(1), uint32(0), uint16(0))
	f.Add(append(header(typeWriteZeroes, 0), segment(7, 1, 1)...), uint32(1), uint32(0), uint16(0))
	f.Fuzz(func(t *testing.T, hdr []byte, w1, w2 uint32, dataOut uint16) {
		d, err := New(&memDisk{b: make([]byte, 8*sectorSize)}, 8*sectorSize, false, "fuzz")
		if err != nil {
			t.Fatal(err)
		}
		drv := queuetest.New(16, 1<<21)
		d.mem, d.q, d.irq = drv.Mem, &drv.Queue, queuetest.NewIRQ()
		var writable []uint32
		for _, w := range []uint32{w1 % 70000, w2 % 70000} {
			if w > 0 {
				writable = append(writable, w)
			}
		}
		drv.Add([][]byte{hdr, make([]byte, dataOut%9000)}, writable)
		d.process(nil)
	})
}

// memDisk is an in-memory Backend.
type memDisk struct{ b []byte }

func (m *memDisk) ReadAt(p []byte, off int64) (int, error)  { return copy(p, m.b[off:]), nil }
func (m *memDisk) WriteAt(p []byte, off int64) (int, error) { return copy(m.b[off:], p), nil }
func (m *memDisk) Sync() error                              { return nil }
func (m *memDisk) ZeroRange(off, n int64, punch bool) error {
	clear(m.b[off : off+n])
	return nil
}
func (m *memDisk) CanZero() bool { return true }

func segment(sector uint64, n, flags uint32) []byte {
	b := make([]byte, segmentSize)
	binary.LittleEndian.PutUint64(b, sector)
	binary.LittleEndian.PutUint32(b[8:], n)
	binary.LittleEndian.PutUint32(b[12:], flags)
	return b
}

// Write-zeroes and discard leave zeros where they were, and nothing else
// changes; a read-only disk offers neither and refuses both.
func TestDiscardAndWriteZeroes(t *testing.T) {
	d, p := disk(t, 8*sectorSize, false)
	if d.Features()&(featureDiscard|featureWriteZeroes) != featureDiscard|featureWriteZeroes {
		t.Fatal("a writable disk does not offer discard and write-zeroes")
	}
	if r := request(t, d, [][]byte{header(typeWriteZeroes, 0), segment(1, 1, 0), segment(5, 2, 1)}, []uint32{1}); r.status != statusOK {
		t.Fatalf("write zeroes: status %d", r.status)
	}
	if r := request(t, d, [][]byte{header(typeDiscard, 0), segment(3, 1, 0)}, []uint32{1}); r.status != statusOK {
		t.Fatalf("discard: status %d", r.status)
	}
	got, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	want := pattern(8 * sectorSize)
	for _, s := range []int{1, 3, 5, 6} {
		clear(want[s*sectorSize : (s+1)*sectorSize])
	}
	if !bytes.Equal(got, want) {
		t.Error("disk contents differ from the pattern with sectors 1, 3, 5, 6 zeroed")
	}
	ro, _ := disk(t, 8*sectorSize, true)
	if ro.Features()&(featureDiscard|featureWriteZeroes) != 0 {
		t.Error("a read-only disk offers discard or write-zeroes")
	}
	if r := request(t, ro, [][]byte{header(typeDiscard, 0), segment(0, 1, 0)}, []uint32{1}); r.status != statusIOErr {
		t.Errorf("discard on a read-only disk: status %d", r.status)
	}
}

// Requests larger than the staging buffer go through it in pieces, with
// the data intact across the piece boundaries, and serving them does not
// allocate their size on the heap (it once made a buffer per request,
// which grew vmm's resident memory by megabytes while a guest read files).
func TestLargeRequestsThroughStagingBuffer(t *testing.T) {
	const size = 3*stageSize + 5*sectorSize
	d, path := disk(t, 2*size, false)
	drv := queuetest.New(16, 4<<20)
	d.mem, d.q, d.irq = drv.Mem, &drv.Queue, queuetest.NewIRQ()
	serve := func(readable [][]byte, writable []uint32) []queuetest.Buffer {
		t.Helper()
		_, bufs := drv.Add(readable, writable)
		if err := d.process(nil); err != nil {
			t.Fatal(err)
		}
		if _, _, ok := drv.Used(); !ok {
			t.Fatal("request not completed")
		}
		return bufs[len(readable):]
	}
	out := serve([][]byte{header(typeIn, 1)}, []uint32{stageSize + 512, size - stageSize - 512, 1})
	got := append(append([]byte(nil), drv.Bytes(out[0])...), drv.Bytes(out[1])...)
	if !bytes.Equal(got, pattern(2 * size)[sectorSize:sectorSize+size]) {
		t.Error("large read: data differs from the disk")
	}
	data := bytes.Repeat([]byte("0123456789abcdef"), size/16)
	serve([][]byte{header(typeOut, 7), data[:1000], data[1000:]}, []uint32{1})
	file, _ := os.ReadFile(path)
	if !bytes.Equal(file[7*sectorSize:7*sectorSize+size], data) {
		t.Error("large write: the file differs from the data")
	}

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := 0; i < 20; i++ {
		serve([][]byte{header(typeIn, 0)}, []uint32{size, 1})
	}
	runtime.ReadMemStats(&after)
	if grown := after.TotalAlloc - before.TotalAlloc; grown > 2*stageSize {
		t.Errorf("20 reads of %d KiB allocated %d KiB", size>>10, grown>>10)
	}
}
