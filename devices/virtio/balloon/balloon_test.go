package balloon

import (
	"encoding/binary"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/vmmlab/vmm/devices/virtio"
	"github.com/vmmlab/vmm/devices/virtio/queue"
	"github.com/vmmlab/vmm/devices/virtio/queue/queuetest"
)

type irqChan chan int

func (c irqChan) Config() error { return nil }
func (c irqChan) Queue(i int) error {
	select {
	case c <- i:
	default:
	}
	return nil
}

// ram records what the device discarded; addresses at or above limit
// are outside guest RAM.
type ram struct {
	mu     sync.Mutex
	ranges [][2]uint64
	limit  uint64
}

func (r *ram) Discard(addr, n uint64) error {
	if addr+n > r.limit {
		return errors.New("out of range")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ranges = append(r.ranges, [2]uint64{addr, n})
	return nil
}

func (r *ram) discarded() [][2]uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][2]uint64(nil), r.ranges...)
}

const features = virtio.FeatureVersion1 | FeatureStatsVQ | FeatureReporting

func start(t *testing.T, r *ram) (*Device, []*queuetest.Driver, irqChan) {
	t.Helper()
	return startPolling(t, r, 0)
}

func startPolling(t *testing.T, r *ram, statsEvery time.Duration) (*Device, []*queuetest.Driver, irqChan) {
	t.Helper()
	d := New(r, 0, statsEvery)
	drvs := queuetest.NewSet(4, 16, 1<<20)
	irq := irqChan(make(chan int, 16))
	qs := make([]*queue.Queue, 4)
	for i := range qs {
		qs[i] = &drvs[i].Queue
	}
	if err := d.Activate(drvs[0].Mem, features, qs, irq); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d, drvs, irq
}

func waitUsed(t *testing.T, drv *queuetest.Driver) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, _, ok := drv.Used(); ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the device returned no buffer")
		}
		time.Sleep(time.Millisecond)
	}
}

func pfnList(pfns ...uint32) []byte {
	var b []byte
	for _, p := range pfns {
		b = binary.LittleEndian.AppendUint32(b, p)
	}
	return b
}

// Inflating discards each page the guest hands over; a frame number past
// guest RAM is skipped, not fatal.
func TestInflateDiscardsPages(t *testing.T) {
	r := &ram{limit: 1 << 30}
	d, drvs, _ := start(t, r)
	drvs[inflateQ].Add([][]byte{pfnList(1, 7, 1<<20)}, nil)
	d.Notify(inflateQ)
	waitUsed(t, drvs[inflateQ])
	got := r.discarded()
	if len(got) != 2 || got[0] != [2]uint64{4096, 4096} || got[1] != [2]uint64{7 * 4096, 4096} {
		t.Errorf("discarded %v, want pages 1 and 7", got)
	}
	drvs[deflateQ].Add([][]byte{pfnList(1)}, nil)
	d.Notify(deflateQ)
	waitUsed(t, drvs[deflateQ])
	if c := d.Counts(); c.InflatedPages != 3 || c.DeflatedPages != 1 || c.DiscardedBytes != 8192 {
		t.Errorf("counters %+v", c)
	}
}

// Free page reporting: each reported range is given back to the host.
// Linux posts the ranges device-writable (virtqueue_add_inbuf): the first
// lab run took those for a malformed report and the device gave up.
func TestReportingDiscardsRanges(t *testing.T) {
	r := &ram{limit: 1 << 30}
	d, drvs, _ := start(t, r)
	drvs[reportQ].Add(nil, []uint32{8192, 4096})
	d.Notify(reportQ)
	waitUsed(t, drvs[reportQ])
	got := r.discarded()
	if len(got) != 2 || got[0][1] != 8192 || got[1][1] != 4096 {
		t.Errorf("discarded %v, want the two reported ranges", got)
	}
	if c := d.Counts(); c.ReportedBytes != 12288 || c.DiscardedBytes != 12288 {
		t.Errorf("counters %+v", c)
	}
}

// The statistics buffer is held until the device asks for new numbers:
// given back at once, the driver would refill it at once, forever.
func TestStatsHeldUntilRequested(t *testing.T) {
	r := &ram{limit: 1 << 30}
	d, drvs, _ := start(t, r)
	var stats []byte
	stats = binary.LittleEndian.AppendUint16(stats, 4) // free memory
	stats = binary.LittleEndian.AppendUint64(stats, 123<<20)
	drvs[statsQ].Add([][]byte{stats}, nil)
	d.Notify(statsQ)
	deadline := time.Now().Add(10 * time.Second)
	for d.Stats()[4] != 123<<20 {
		if time.Now().After(deadline) {
			t.Fatalf("stats %v", d.Stats())
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	if _, _, ok := drvs[statsQ].Used(); ok {
		t.Fatal("the statistics buffer came back before the device asked")
	}
	d.RequestStats()
	waitUsed(t, drvs[statsQ])
}

// With a polling interval the device asks for statistics on its own, and
// its counters carry the guest's numbers.
func TestStatsPolled(t *testing.T) {
	d, drvs, _ := startPolling(t, &ram{limit: 1 << 30}, 10*time.Millisecond)
	var stats []byte
	stats = binary.LittleEndian.AppendUint16(stats, 6) // available memory
	stats = binary.LittleEndian.AppendUint64(stats, 77<<20)
	drvs[statsQ].Add([][]byte{stats}, nil)
	d.Notify(statsQ)
	waitUsed(t, drvs[statsQ]) // given back without RequestStats
	if got := d.Counters()["guest_available_bytes"]; got != 77<<20 {
		t.Fatalf("counters %v", d.Counters())
	}
}

// The target is the device's, actual the driver's.
func TestConfig(t *testing.T) {
	d := New(&ram{}, 300, 0)
	d.WriteConfig(0, []byte{9, 9, 9, 9}) // num_pages is not the driver's
	d.WriteConfig(4, []byte{0x10, 0x01, 0, 0})
	d.SetTarget(512)
	var cfg [8]byte
	d.ReadConfig(0, cfg[:])
	if binary.LittleEndian.Uint32(cfg[:]) != 512 || binary.LittleEndian.Uint32(cfg[4:]) != 0x110 || d.Actual() != 0x110 {
		t.Errorf("config % x, actual %d", cfg, d.Actual())
	}
}

// Malformed lists stop the device (NEEDS_RESET), never the host; a
// driver without reporting leaves it inactive.
func TestMalformed(t *testing.T) {
	r := &ram{limit: 1 << 30}
	d, drvs, _ := start(t, r)
	drvs[inflateQ].Add([][]byte{{1, 2, 3}}, nil) // not whole frame numbers
	d.Notify(inflateQ)
	deadline := time.Now().Add(10 * time.Second)
	for !errors.Is(d.Failed(), queue.ErrMalformed) {
		if time.Now().After(deadline) {
			t.Fatalf("Failed() = %v", d.Failed())
		}
		time.Sleep(time.Millisecond)
	}
	d2 := New(r, 0, 0)
	if err := d2.Activate(drvs[0].Mem, virtio.FeatureVersion1, []*queue.Queue{&drvs[0].Queue, &drvs[1].Queue}, irqChan(nil)); err == nil {
		t.Error("activated without statistics and reporting queues")
	}
}

// Any chain on any queue ends in a returned buffer or a device failure,
// never a panic or a hang.
func FuzzQueues(f *testing.F) {
	f.Add([]byte{0, 4, 1, 8, 2, 10, 3, 16})
	f.Fuzz(func(t *testing.T, prog []byte) {
		r := &ram{limit: 1 << 20}
		d, drvs, _ := start(t, r)
		for i := 0; i+1 < len(prog) && i < 16; i += 2 {
			qi := int(prog[i] % 4)
			data := make([]byte, int(prog[i+1])*4)
			for j := range data {
				data[j] = prog[(i+j)%len(prog)]
			}
			if prog[i]&0x80 != 0 {
				drvs[qi].Add(nil, []uint32{uint32(len(data))})
			} else {
				drvs[qi].Add([][]byte{data}, nil)
			}
			d.Notify(qi)
		}
		time.Sleep(time.Millisecond)
		d.Reset()
	})
}

// A guest that refills the inflate queue as fast as the device serves it
// cannot keep a reset (or vmm's exit) waiting: the device looks at stop
// between chains.
func TestStopsWhileTheGuestKeepsRefilling(t *testing.T) {
	d := New(&ram{limit: 1 << 30}, 0, 0)
	drvs := queuetest.NewSet(4, 16, 1<<20)
	qs := make([]*queue.Queue, 4)
	for i := range qs {
		qs[i] = &drvs[i].Queue
	}
	drvs[inflateQ].CheckStopsWhileRefilled(t, queuetest.Refilled{
		Activate: func(mem queue.Memory) error { return d.Activate(mem, features, qs, irqChan(make(chan int, 16))) },
		Add:      func() { drvs[inflateQ].Add([][]byte{pfnList(1)}, nil) },
		Notify:   func() { d.Notify(inflateQ) },
		Close:    d.Close,
	})
}
