package queue_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/vmmlab/vmm/devices/virtio/queue"
	"github.com/vmmlab/vmm/devices/virtio/queue/queuetest"
)

// recorder logs the device's accesses to the rings by name, and fences.
type recorder struct {
	mem  queue.Memory
	q    *queue.Queue
	log  []string
	size uint64
}

func (r *recorder) name(addr uint64) string {
	q := r.q
	switch addr {
	case q.AvailRing:
		return "avail.flags"
	case q.AvailRing + 2:
		return "avail.idx"
	case q.AvailRing + 4 + 2*r.size:
		return "used_event"
	case q.UsedRing:
		return "used.flags"
	case q.UsedRing + 2:
		return "used.idx"
	case q.UsedRing + 4 + 8*r.size:
		return "avail_event"
	}
	return fmt.Sprintf("%#x", addr)
}

func (r *recorder) Read(addr uint64, p []byte) error {
	r.log = append(r.log, "R "+r.name(addr))
	return r.mem.Read(addr, p)
}

func (r *recorder) Write(addr uint64, p []byte) error {
	r.log = append(r.log, "W "+r.name(addr))
	return r.mem.Write(addr, p)
}

func (r *recorder) Fence() { r.log = append(r.log, "F") }

// The two store→load pairs of the split queue that x86 reorders have a
// full fence between them; without it notifications were lost.
func TestFencesBetweenStoreAndLoad(t *testing.T) {
	for _, eventIdx := range []bool{false, true} {
		d := queuetest.New(8, 1<<20)
		d.Queue.EventIdx = eventIdx
		r := &recorder{mem: d.Mem, q: &d.Queue, size: 8}
		// Nothing available: the device asks for a notification, then
		// looks again.
		if _, ok, err := d.Queue.Next(r); ok || err != nil {
			t.Fatalf("Next on an empty queue: %v %v", ok, err)
		}
		notify := "W used.flags"
		if eventIdx {
			notify = "W avail_event"
		}
		if got := strings.Join(r.log, ", "); !strings.Contains(got, notify+", F, R avail.idx") {
			t.Errorf("event idx %v: Next did %s; want %q, a fence, then the avail idx read", eventIdx, got, notify)
		}
		head, _ := d.Add([][]byte{{1}}, nil)
		c, ok, err := d.Queue.Next(d.Mem)
		if !ok || err != nil || c.Head != head {
			t.Fatalf("Next: %v %v", ok, err)
		}
		r.log = nil
		if err := d.Queue.PushUsed(r, c.Head, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Queue.NeedsInterrupt(r); err != nil {
			t.Fatal(err)
		}
		check := "R avail.flags"
		if eventIdx {
			check = "R used_event"
		}
		if got := strings.Join(r.log, ", "); !strings.Contains(got, "W used.idx, F, "+check) {
			t.Errorf("event idx %v: PushUsed+NeedsInterrupt did %s; want the used idx write, a fence, then %q", eventIdx, got, check)
		}
	}
}
