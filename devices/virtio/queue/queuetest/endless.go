package queuetest

import "github.com/vmmlab/vmm/devices/virtio/queue"

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
