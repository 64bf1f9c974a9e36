package rng

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/vmmlab/vmm/devices/virtio"
	"github.com/vmmlab/vmm/devices/virtio/queue"
	"github.com/vmmlab/vmm/devices/virtio/queue/queuetest"
	"golang.org/x/sys/unix"
)

// activate starts d on a fake driver's queue over memSize bytes of guest
// memory; the test's cleanup closes it.
func activate(t testing.TB, d *Device, memSize int, features uint64) (*queuetest.Driver, queuetest.IRQ) {
	t.Helper()
	drv := queuetest.New(16, memSize)
	irq := queuetest.NewIRQ()
	if err := d.Activate(drv.Mem, features, []*queue.Queue{&drv.Queue}, irq); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return drv, irq
}

// counting is a source that writes 1, 2, 3, ... so tests see every byte.
func counting() Source {
	var n byte
	return func(p []byte) (int, error) {
		for i := range p {
			n++
			p[i] = n
		}
		return len(p), nil
	}
}

// waitUsed waits for the device to return a chain.
func waitUsed(t *testing.T, drv *queuetest.Driver, irq queuetest.IRQ) (uint16, uint32) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		if head, n, ok := drv.Used(); ok {
			return head, n
		}
		select {
		case <-irq:
		case <-time.After(time.Millisecond):
		case <-deadline:
			t.Fatal("the device returned no buffer")
		}
	}
}

func TestFillsBuffersFromTheSource(t *testing.T) {
	d := New(counting(), 0)
	drv, irq := activate(t, d, 1<<20, virtio.FeatureVersion1)
	_, bufs := drv.Add(nil, []uint32{3, 5}) // one request over two buffers
	d.Notify(0)
	if _, n := waitUsed(t, drv, irq); n != 8 {
		t.Fatalf("used length %d, want 8", n)
	}
	if got := append(drv.Bytes(bufs[0]), drv.Bytes(bufs[1])...); !bytes.Equal(got, []byte{1, 2, 3, 4, 5, 6, 7, 8}) {
		t.Errorf("buffers hold % x", got)
	}
	if c := d.Counters(); c["bytes"] != 8 {
		t.Errorf("counters %v, want 8 bytes", c)
	}
	if err := d.Failed(); err != nil {
		t.Fatal(err)
	}
}

// The real source: getrandom(2), as vmm wires it.
func TestGetrandomSource(t *testing.T) {
	d := New(func(p []byte) (int, error) { return unix.Getrandom(p, 0) }, 0)
	drv, irq := activate(t, d, 1<<20, virtio.FeatureVersion1)
	_, bufs := drv.Add(nil, []uint32{64})
	d.Notify(0)
	if _, n := waitUsed(t, drv, irq); n != 64 || bytes.Equal(drv.Bytes(bufs[0]), make([]byte, 64)) {
		t.Fatalf("used %d bytes: % x", n, drv.Bytes(bufs[0]))
	}
}

// A request the device may only read from is malformed: the device stops
// with an error (the transport then sets NEEDS_RESET), the host does not.
func TestReadableBufferIsMalformed(t *testing.T) {
	d := New(counting(), 0)
	drv, _ := activate(t, d, 1<<20, virtio.FeatureVersion1)
	drv.Add([][]byte{[]byte("hi")}, []uint32{4})
	d.Notify(0)
	deadline := time.Now().Add(10 * time.Second)
	for d.Failed() == nil && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if err := d.Failed(); !errors.Is(err, queue.ErrMalformed) {
		t.Fatalf("Failed() = %v, want a malformed-ring error", err)
	}
}

// A huge buffer gets at most maxRequest bytes, so one request cannot keep
// the device (and the host's entropy source) busy for long.
func TestRequestIsBounded(t *testing.T) {
	d := New(counting(), 0)
	drv, irq := activate(t, d, 4<<20, virtio.FeatureVersion1)
	drv.Add(nil, []uint32{1 << 20})
	d.Notify(0)
	if _, n := waitUsed(t, drv, irq); n != maxRequest {
		t.Fatalf("used length %d, want %d", n, maxRequest)
	}
}

// The rate limit: with the bucket empty, a request gets nothing until
// time passes, then no more than the rate allows; a reset while the
// device waits for the limit returns at once.
func TestRateLimit(t *testing.T) {
	now := time.Unix(0, 0)
	b := newBucket(1000, func() time.Time { return now })
	if got, _ := b.take(5000); got != 1000 {
		t.Fatalf("first take got %d, want the 1000-byte burst", got)
	}
	got, wait := b.take(10)
	if got != 0 || wait <= 0 || wait > 10*time.Millisecond {
		t.Fatalf("empty bucket gave %d, wait %v", got, wait)
	}
	now = now.Add(100 * time.Millisecond)
	if got, _ := b.take(5000); got != 100 {
		t.Fatalf("after 100 ms got %d, want 100", got)
	}
	now = now.Add(time.Hour)
	if got, _ := b.take(5000); got != 1000 {
		t.Fatalf("after an hour got %d, want the 1000-byte cap", got)
	}

	d := New(counting(), 1) // one byte per second
	drv, irq := activate(t, d, 1<<20, virtio.FeatureVersion1)
	drv.Add(nil, []uint32{64})
	drv.Add(nil, []uint32{64})
	d.Notify(0)
	if _, n := waitUsed(t, drv, irq); n != 1 {
		t.Fatalf("the first request got %d bytes, want the 1-byte burst", n)
	}
	reset := make(chan struct{})
	go func() { d.Reset(); close(reset) }()
	select {
	case <-reset:
	case <-time.After(5 * time.Second):
		t.Fatal("Reset waited for the rate limit")
	}
}

// Chains of any shape the guest can post (device-readable parts, many
// or huge writable parts, indirect tables) end in filled buffers or a
// device failure, never a panic or a hang.
func FuzzRequests(f *testing.F) {
	f.Add([]byte{0, 8, 1, 200, 2, 0, 3, 255})
	f.Fuzz(func(t *testing.T, prog []byte) {
		d := New(counting(), 0)
		drv, _ := activate(t, d, 1<<20, virtio.FeatureVersion1|virtio.FeatureIndirect)
		posted := 0
		for i := 0; i+1 < len(prog) && posted < 8; i += 2 {
			n := uint32(prog[i+1]) << (prog[i] % 12)
			switch prog[i] % 3 {
			case 0:
				drv.Add(nil, []uint32{n, 1})
			case 1:
				drv.AddIndirect(nil, []uint32{n})
			case 2:
				drv.Add([][]byte{{1}}, []uint32{n})
			}
			posted++
		}
		d.Notify(0)
		deadline := time.Now().Add(10 * time.Second)
		for got := 0; got < posted && d.Failed() == nil; {
			if _, _, ok := drv.Used(); ok {
				got++
				continue
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d of %d requests answered after 10 s", got, posted)
			}
			time.Sleep(100 * time.Microsecond)
		}
	})
}

// A guest that refills the queue as fast as the device serves it cannot
// keep a reset (or vmm's exit) waiting: the device looks at stop between
// chains.
func TestStopsWhileTheGuestKeepsRefilling(t *testing.T) {
	d := New(counting(), 0)
	drv := queuetest.New(16, 1<<20)
	drv.CheckStopsWhileRefilled(t, queuetest.Refilled{
		Activate: func(mem queue.Memory) error {
			return d.Activate(mem, virtio.FeatureVersion1, []*queue.Queue{&drv.Queue}, queuetest.NewIRQ())
		},
		Add:    func() { drv.Add(nil, []uint32{16}) },
		Notify: func() { d.Notify(0) },
		Close:  d.Close,
	})
}
