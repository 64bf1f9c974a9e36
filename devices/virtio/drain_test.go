package virtio

import (
	"errors"
	"testing"

	"github.com/vmmlab/vmm/devices/virtio/queue"
	"github.com/vmmlab/vmm/devices/virtio/queue/queuetest"
)

// queueIRQ counts queue interrupts.
type queueIRQ struct{ queue int }

func (q *queueIRQ) Queue(int) error { q.queue++; return nil }
func (q *queueIRQ) Config() error   { return nil }

// Drain returns every available chain with the bytes handle wrote, in
// order, and interrupts once per round; a closed stop ends it before the
// first chain; an error from handle ends it with that error.
func TestDrain(t *testing.T) {
	drv := queuetest.New(16, 1<<20)
	for range 3 {
		drv.Add(nil, []uint32{64})
	}
	irq := &queueIRQ{}
	var heads []uint16
	err := Drain(drv.Mem, &drv.Queue, irq, 0, nil, func(c queue.Chain) (uint32, error) {
		heads = append(heads, c.Head)
		return 7, nil
	})
	if err != nil || len(heads) != 3 || irq.queue != 1 {
		t.Fatalf("err %v, chains %v, interrupts %d; want 3 chains and 1 interrupt", err, heads, irq.queue)
	}
	for _, want := range heads {
		if head, n, ok := drv.Used(); !ok || head != want || n != 7 {
			t.Fatalf("used %d %d %v, want %d 7", head, n, ok, want)
		}
	}
	if err := Drain(drv.Mem, &drv.Queue, irq, 0, nil, nil); err != nil || irq.queue != 1 {
		t.Fatalf("an empty queue: %v, %d interrupts", err, irq.queue)
	}
	drv.Add(nil, []uint32{64})
	stop := make(chan struct{})
	close(stop)
	if err := Drain(drv.Mem, &drv.Queue, irq, 0, stop, nil); err != nil {
		t.Fatal(err)
	}
	bad := errors.New("bad request")
	if err := Drain(drv.Mem, &drv.Queue, irq, 0, nil, func(queue.Chain) (uint32, error) { return 0, bad }); err != bad {
		t.Fatalf("handler error: got %v", err)
	}
}
