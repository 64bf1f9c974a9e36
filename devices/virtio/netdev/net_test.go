package netdev

import (
	"bytes"
	"encoding/binary"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/vmmlab/vmm/devices/virtio"
	"github.com/vmmlab/vmm/devices/virtio/queue"
	"github.com/vmmlab/vmm/devices/virtio/queue/queuetest"
)

var errClosed = errors.New("backend closed")

// fakeBackend is the host side of the interface: frames sent to in reach
// the guest; frames the guest sends arrive on out.
type fakeBackend struct {
	in        chan []byte
	out       chan []byte
	closed    chan struct{}
	closeOnce sync.Once
	mu        sync.Mutex
	offload   []Offload
}

func newBackend() *fakeBackend {
	return &fakeBackend{in: make(chan []byte), out: make(chan []byte, 64), closed: make(chan struct{})}
}

func (b *fakeBackend) ReadFrame(p []byte) (int, error) {
	select {
	case f := <-b.in:
		return copy(p, f), nil
	case <-b.closed:
		return 0, errClosed
	}
}

func (b *fakeBackend) WriteFrame(p []byte) error {
	select {
	case b.out <- bytes.Clone(p):
		return nil
	default:
		return errors.New("backend full")
	}
}

func (b *fakeBackend) SetOffload(o Offload) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.offload = append(b.offload, o)
	return nil
}

func (b *fakeBackend) Close() error {
	b.closeOnce.Do(func() { close(b.closed) })
	return nil
}

// irqs records interrupts per queue (and config as -1).
type irqs struct{ c chan int }

func (i irqs) Queue(n int) error { i.c <- n; return nil }
func (i irqs) Config() error     { i.c <- -1; return nil }

type rig struct {
	dev     *Device
	backend *fakeBackend
	rx, tx  *queuetest.Driver
	irq     irqs
}

var testMAC = [6]byte{0x02, 0, 0, 0, 0, 0x42}

// start activates a device with both queues over one fake guest memory.
func start(t testing.TB, features uint64) *rig {
	t.Helper()
	drv := queuetest.NewSet(2, 64, 4<<20)
	r := &rig{backend: newBackend(), rx: drv[0], tx: drv[1], irq: irqs{make(chan int, 1024)}}
	r.dev = New(r.backend, testMAC)
	t.Cleanup(func() { r.dev.Close() })
	if err := r.dev.Activate(drv[0].Mem, features, []*queue.Queue{&drv[0].Queue, &drv[1].Queue}, r.irq); err != nil {
		t.Fatal(err)
	}
	return r
}

// waitIRQ waits for an interrupt of queue n.
func (r *rig) waitIRQ(t testing.TB, n int) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case got := <-r.irq.c:
			if got == n {
				return
			}
			if got == -1 {
				t.Fatalf("config interrupt (device failed: %v) while waiting for queue %d", r.dev.Failed(), n)
			}
		case <-deadline:
			t.Fatalf("no interrupt for queue %d", n)
		}
	}
}

func frame(payload string, numBuffers uint16) []byte {
	f := make([]byte, HeaderSize, HeaderSize+len(payload))
	binary.LittleEndian.PutUint16(f[10:], numBuffers)
	return append(f, payload...)
}

func TestTransmit(t *testing.T) {
	r := start(t, virtio.FeatureVersion1)
	f := frame("ethernet frame from the guest", 0)
	head, _ := r.tx.Add([][]byte{f[:HeaderSize], f[HeaderSize:]}, nil)
	r.tx.AddIndirect([][]byte{f}, nil)
	r.dev.Notify(txQueue)
	r.waitIRQ(t, txQueue)
	for range 2 {
		select {
		case got := <-r.backend.out:
			if !bytes.Equal(got, f) {
				t.Fatalf("backend got %q, want %q", got, f)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("frame never reached the backend")
		}
	}
	if h, n, ok := r.tx.Used(); !ok || h != head || n != 0 {
		t.Fatalf("used %d %d %v, want head %d with 0 bytes written", h, n, ok, head)
	}
	if s := r.dev.Stats(); s.TxFrames != 2 || s.TxDropped != 0 {
		t.Errorf("stats %+v", s)
	}
}

// Frames shorter than the header or longer than any real frame are
// dropped and counted; the queue goes on working.
func TestTransmitDropsBadFrames(t *testing.T) {
	r := start(t, virtio.FeatureVersion1)
	r.tx.Add([][]byte{make([]byte, HeaderSize-1)}, nil)
	r.tx.Add([][]byte{make([]byte, MaxFrame), {1}}, nil)
	good := frame("ok", 0)
	r.tx.Add([][]byte{good}, nil)
	r.dev.Notify(txQueue)
	r.waitIRQ(t, txQueue)
	select {
	case got := <-r.backend.out:
		if !bytes.Equal(got, good) {
			t.Fatalf("backend got %q", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("good frame lost")
	}
	// The worker was kicked once at activation too, so the interrupt
	// waited for above may have come before the last buffer went back.
	deadline := time.Now().Add(10 * time.Second)
	for n := 0; n < 3; {
		if _, _, ok := r.tx.Used(); ok {
			n++
			continue
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of 3 buffers returned: a dropped frame's buffer was not", n)
		}
		time.Sleep(time.Millisecond)
	}
	if s := r.dev.Stats(); s.TxFrames != 1 || s.TxDropped != 2 || r.dev.Failed() != nil {
		t.Errorf("stats %+v, failed %v", s, r.dev.Failed())
	}
}

// With mergeable buffers a frame larger than one buffer spans several,
// and num_buffers in the header says how many.
func TestReceiveMergeable(t *testing.T) {
	r := start(t, virtio.FeatureVersion1|FeatureMrgRxbuf)
	var bufs []queuetest.Buffer
	var heads []uint16
	for range 3 {
		h, b := r.rx.Add(nil, []uint32{1000})
		heads, bufs = append(heads, h), append(bufs, b[0])
	}
	r.dev.Notify(rxQueue)
	payload := bytes.Repeat([]byte("0123456789"), 150) // 1500 bytes: two buffers
	f := append(frame("", 0), payload...)
	r.backend.in <- f
	r.waitIRQ(t, rxQueue)
	var got []byte
	for i := range 2 {
		h, n, ok := r.rx.Used()
		if !ok || h != heads[i] {
			t.Fatalf("used %d: head %d ok %v, want %d", i, h, ok, heads[i])
		}
		got = append(got, r.rx.Bytes(bufs[i])[:n]...)
	}
	if nb := binary.LittleEndian.Uint16(got[10:]); nb != 2 {
		t.Errorf("num_buffers %d, want 2", nb)
	}
	if !bytes.Equal(got[HeaderSize:], payload) {
		t.Errorf("payload differs")
	}
	if _, _, ok := r.rx.Used(); ok {
		t.Error("third buffer used for a frame that fit in two")
	}
}

// A frame that arrives before the guest posted buffers waits for them
// (without polling: only a notify wakes the device) and is not lost.
func TestReceiveWaitsForBuffers(t *testing.T) {
	r := start(t, virtio.FeatureVersion1|virtio.FeatureEventIdx)
	f := frame("early frame", 0)
	r.backend.in <- f // taken by the reader, held by the receive worker
	time.Sleep(20 * time.Millisecond)
	_, bufs := r.rx.Add(nil, []uint32{2048})
	r.dev.Notify(rxQueue)
	r.waitIRQ(t, rxQueue)
	_, n, ok := r.rx.Used()
	if !ok || int(n) != len(f) {
		t.Fatalf("used %d bytes ok %v, want %d", n, ok, len(f))
	}
	want := frame("early frame", 1)
	if got := r.rx.Bytes(bufs[0])[:n]; !bytes.Equal(got, want) {
		t.Errorf("guest got %q, want %q", got, want)
	}
	if s := r.dev.Stats(); s.RxFrames != 1 {
		t.Errorf("stats %+v", s)
	}
}

// Without mergeable buffers a frame larger than the posted buffer is
// dropped and the buffer given back empty; the next frame gets through.
func TestReceiveDropsFrameTooBigForBuffer(t *testing.T) {
	r := start(t, virtio.FeatureVersion1)
	r.rx.Add(nil, []uint32{64})
	_, bufs := r.rx.Add(nil, []uint32{64})
	r.dev.Notify(rxQueue)
	r.backend.in <- frame(string(make([]byte, 100)), 0)
	r.backend.in <- frame("small", 0)
	r.waitIRQ(t, rxQueue)
	deadline := time.Now().Add(10 * time.Second)
	var used [][2]uint32
	for len(used) < 2 && time.Now().Before(deadline) {
		if h, n, ok := r.rx.Used(); ok {
			used = append(used, [2]uint32{uint32(h), n})
		} else {
			time.Sleep(time.Millisecond)
		}
	}
	if len(used) != 2 || used[0][1] != 0 || int(used[1][1]) != HeaderSize+5 {
		t.Fatalf("used %v", used)
	}
	if got := r.rx.Bytes(bufs[0])[HeaderSize : HeaderSize+5]; string(got) != "small" {
		t.Errorf("guest got %q", got)
	}
	if s := r.dev.Stats(); s.RxDropped != 1 || s.RxFrames != 1 {
		t.Errorf("stats %+v", s)
	}
}

// A receive chain with a device-readable buffer is malformed: the device
// stops and raises a configuration interrupt (NEEDS_RESET), no panic.
func TestMalformedReceiveRingStopsDevice(t *testing.T) {
	r := start(t, virtio.FeatureVersion1)
	r.rx.Add([][]byte{{1, 2, 3}}, []uint32{2048})
	r.dev.Notify(rxQueue)
	r.backend.in <- frame("x", 0)
	r.waitIRQ(t, -1)
	if err := r.dev.Failed(); !errors.Is(err, queue.ErrMalformed) {
		t.Fatalf("Failed() = %v", err)
	}
}

// Mergeable buffers that together cannot hold a frame stop the device
// instead of waiting forever.
func TestReceiveRingTooSmallForFrame(t *testing.T) {
	r := start(t, virtio.FeatureVersion1|FeatureMrgRxbuf)
	for range 64 {
		r.rx.Add(nil, []uint32{HeaderSize})
	}
	r.dev.Notify(rxQueue)
	r.backend.in <- frame(string(make([]byte, 64*HeaderSize)), 0)
	r.waitIRQ(t, -1)
	if err := r.dev.Failed(); !errors.Is(err, queue.ErrMalformed) {
		t.Fatalf("Failed() = %v", err)
	}
}

func TestOffloadFollowsNegotiation(t *testing.T) {
	for _, c := range []struct {
		features uint64
		want     Offload
	}{
		{0, Offload{}},
		{FeatureGuestTSO4, Offload{}}, // TSO without checksum offload is not usable
		{FeatureGuestCSUM, Offload{CSUM: true}},
		{FeatureGuestCSUM | FeatureGuestTSO4 | FeatureGuestTSO6 | FeatureGuestECN, Offload{true, true, true, true}},
	} {
		r := start(t, virtio.FeatureVersion1|c.features)
		r.backend.mu.Lock()
		got := r.backend.offload
		r.backend.mu.Unlock()
		if len(got) != 1 || got[0] != c.want {
			t.Errorf("features %#x: offload %+v, want %+v", c.features, got, c.want)
		}
	}
}

func TestConfigSpace(t *testing.T) {
	d := New(newBackend(), testMAC)
	defer d.Close()
	got := make([]byte, 12)
	d.ReadConfig(0, got)
	want := []byte{0x02, 0, 0, 0, 0, 0x42, linkUp, 0, 1, 0, 0, 0}
	if !bytes.Equal(got, want) {
		t.Errorf("config % x, want % x", got, want)
	}
	d.ReadConfig(1<<62, got[:4]) // far out of range: zeros, no panic
	if !bytes.Equal(got[:4], []byte{0, 0, 0, 0}) {
		t.Errorf("out-of-range config read % x", got[:4])
	}
	if d.Features()&(FeatureMAC|FeatureMrgRxbuf|virtio.FeatureVersion1) == 0 {
		t.Error("features lack MAC, MRG_RXBUF or VERSION_1")
	}
}

// Reset stops the workers; Close ends the reader even while it blocks in
// the backend; a second Close is harmless.
func TestResetAndClose(t *testing.T) {
	r := start(t, virtio.FeatureVersion1)
	r.dev.Reset()
	r.dev.Notify(rxQueue) // after reset: ignored
	done := make(chan error)
	go func() { done <- r.dev.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close hung")
	}
	if err := r.dev.Close(); err != nil {
		t.Fatal(err)
	}
}
