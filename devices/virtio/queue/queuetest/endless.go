package queuetest

import (
	"testing"
	"time"

	"github.com/vmmlab/vmm/devices/virtio/queue"
)

// Endless is d's memory for a device that must not be able to starve
// its own stop: each time the device publishes a used entry on d's
// queue, add runs (and typically makes a new chain available), as a
// guest that refills its queue as fast as the device empties it. A device
// that serves until its queue is empty never leaves such a queue.
func (d *Driver) Endless(add func()) queue.Memory { return endless{d: d, add: add} }

type endless struct {
	d   *Driver
	add func()
}

func (e endless) Read(addr uint64, p []byte) error { return e.d.Mem.Read(addr, p) }

func (e endless) Write(addr uint64, p []byte) error {
	err := e.d.Mem.Write(addr, p)
	if err == nil && addr == e.d.Queue.UsedRing+2 { // the used index: one more entry published
		e.add()
	}
	return err
}

// Refilled is a device under a guest that refills d's queue as fast as
// the device serves it.
type Refilled struct {
	Activate func(queue.Memory) error // start the device on this memory
	Add      func()                   // make one chain available on d
	Notify   func()                   // tell the device
	Close    func() error             // stop the device
}

// CheckStopsWhileRefilled starts the device of r on d with Endless
// memory, waits until it serves, and fails t unless Close returns within
// 10 s: a device must look at its stop between chains.
func (d *Driver) CheckStopsWhileRefilled(t testing.TB, r Refilled) {
	t.Helper()
	served := make(chan struct{}, 1)
	mem := d.Endless(func() {
		r.Add()
		select {
		case served <- struct{}{}:
		default:
		}
	})
	if err := r.Activate(mem); err != nil {
		t.Fatal(err)
	}
	r.Add()
	r.Notify()
	<-served
	stopped := make(chan struct{})
	go func() {
		r.Close()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("Close still waits for a device serving a queue the guest keeps refilling")
	}
}
