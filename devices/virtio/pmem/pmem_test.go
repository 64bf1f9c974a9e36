package pmem

import (
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/vmmlab/vmm/devices/virtio"
	"github.com/vmmlab/vmm/devices/virtio/queue"
	"github.com/vmmlab/vmm/devices/virtio/queue/queuetest"
)

func activate(t testing.TB, d *Device) *queuetest.Driver {
	t.Helper()
	drv := queuetest.New(16, 1<<20)
	if err := d.Activate(drv.Mem, virtio.FeatureVersion1|virtio.FeatureIndirect, []*queue.Queue{&drv.Queue}, queuetest.NewIRQ()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return drv
}

// answered waits for n used chains, or for the device to give up.
func answered(t testing.TB, d *Device, drv *queuetest.Driver, n int) []uint32 {
	t.Helper()
	var lens []uint32
	deadline := time.Now().Add(10 * time.Second)
	for len(lens) < n && d.Failed() == nil {
		if _, written, ok := drv.Used(); ok {
			lens = append(lens, written)
			continue
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d requests answered after 10 s", len(lens), n)
		}
		time.Sleep(100 * time.Microsecond)
	}
	return lens
}

func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }

func TestConfigurationIsTheWindow(t *testing.T) {
	d := New(0x1_4000_0000, 64<<20, func() error { return nil })
	var cfg [16]byte
	d.ReadConfig(0, cfg[:])
	if start, size := binary.LittleEndian.Uint64(cfg[:]), binary.LittleEndian.Uint64(cfg[8:]); start != 0x1_4000_0000 || size != 64<<20 {
		t.Fatalf("config says start %#x size %#x", start, size)
	}
	d.WriteConfig(0, make([]byte, 8))
	var hi [4]byte
	d.ReadConfig(12, hi[:])
	if binary.LittleEndian.Uint32(hi[:]) != 0 {
		t.Errorf("the size's high half reads % x after a write", hi)
	}
	if d.ID() != virtio.IDPmem {
		t.Errorf("device ID %d", d.ID())
	}
}

// A flush calls the host's flusher and answers 0; a failed flush and a
// request of another type answer an error status, and the device goes on.
func TestFlushAnswers(t *testing.T) {
	fail := errors.New("disk full")
	results := []error{nil, fail}
	calls := 0
	d := New(0, 2<<20, func() error { calls++; return results[calls-1] })
	drv := activate(t, d)
	_, ok := drv.Add([][]byte{le32(reqFlush)}, []uint32{4})
	_, bad := drv.Add([][]byte{le32(reqFlush)}, []uint32{4})
	_, other := drv.Add([][]byte{le32(7)}, []uint32{4})
	d.Notify(0)
	if lens := answered(t, d, drv, 3); len(lens) != 3 {
		t.Fatalf("answered %v, device failure %v", lens, d.Failed())
	}
	for name, want := range map[string]struct {
		buf  queuetest.Buffer
		resp uint32
	}{"flush": {ok[1], respOK}, "failed flush": {bad[1], respError}, "unknown type": {other[1], respError}} {
		if got := binary.LittleEndian.Uint32(drv.Bytes(want.buf)); got != want.resp {
			t.Errorf("%s: status %d, want %d", name, got, want.resp)
		}
	}
	if calls != 2 {
		t.Errorf("flusher called %d times, want 2", calls)
	}
	if c := d.Counters(); c["flushes"] != 1 || c["failed"] != 2 {
		t.Errorf("counters %v", c)
	}
}

// A request without room for the type or the status is malformed: the
// device stops with an error (the transport sets NEEDS_RESET).
func TestShortRequestIsMalformed(t *testing.T) {
	for name, req := range map[string]func(*queuetest.Driver){
		"no status": func(drv *queuetest.Driver) { drv.Add([][]byte{le32(0)}, nil) },
		"no type":   func(drv *queuetest.Driver) { drv.Add(nil, []uint32{4}) },
		"short":     func(drv *queuetest.Driver) { drv.Add([][]byte{{0, 0}}, []uint32{4}) },
	} {
		t.Run(name, func(t *testing.T) {
			d := New(0, 2<<20, func() error { return nil })
			drv := activate(t, d)
			req(drv)
			d.Notify(0)
			answered(t, d, drv, 1)
			if err := d.Failed(); !errors.Is(err, queue.ErrMalformed) {
				t.Fatalf("Failed() = %v, want a malformed-request error", err)
			}
		})
	}
}

// Requests of any shape end answered or in a device failure, never a
// panic or a hang.
func FuzzRequests(f *testing.F) {
	f.Add([]byte{0, 4, 4, 1, 2, 9, 3, 0})
	f.Fuzz(func(t *testing.T, prog []byte) {
		d := New(0, 2<<20, func() error { return nil })
		drv := activate(t, d)
		posted := 0
		for i := 0; i+1 < len(prog) && posted < 8; i += 2 {
			n := uint32(prog[i+1]) % 64
			readable := [][]byte{make([]byte, prog[i]%9)}
			if prog[i]%2 == 0 {
				drv.Add(readable, []uint32{n})
			} else {
				drv.AddIndirect(readable, []uint32{n, 1})
			}
			posted++
		}
		d.Notify(0)
		answered(t, d, drv, posted)
	})
}

func TestStopsWhileTheGuestKeepsRefilling(t *testing.T) {
	d := New(0, 2<<20, func() error { return nil })
	drv := queuetest.New(16, 1<<20)
	drv.CheckStopsWhileRefilled(t, queuetest.Refilled{
		Activate: func(mem queue.Memory) error {
			return d.Activate(mem, virtio.FeatureVersion1, []*queue.Queue{&drv.Queue}, queuetest.NewIRQ())
		},
		Add:    func() { drv.Add([][]byte{le32(0)}, []uint32{4}) },
		Notify: func() { d.Notify(0) },
		Close:  d.Close,
	})
}
