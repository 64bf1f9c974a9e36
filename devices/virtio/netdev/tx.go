package netdev

import (
	"github.com/vmmlab/vmm/devices/virtio"
	"github.com/vmmlab/vmm/devices/virtio/queue"
)

// transmitter sends the frames the guest queues to the backend.
type transmitter struct {
	d   *Device
	mem queue.Memory
	q   *queue.Queue
	irq virtio.Interrupts
	buf []byte
}

// run sends every queued frame each time the guest notifies, until stop.
func (t *transmitter) run(kick, stop <-chan struct{}) error {
	t.buf = make([]byte, MaxFrame)
	for {
		select {
		case <-stop:
			return nil
		case <-kick:
		}
		if err := t.drain(); err != nil {
			return err
		}
	}
}

// drain sends the available frames, returns their chains and interrupts
// the guest if it asked. An error means the ring is malformed.
func (t *transmitter) drain() error {
	return virtio.Drain(t.mem, t.q, t.irq, txQueue, nil, func(c queue.Chain) (uint32, error) { return 0, t.send(c) })
}

// send passes one frame (header included) to the backend. Frames that are
// too short or too long, or that the backend refuses, are dropped and
// counted: a NIC drops bad packets, it does not stop. Buffers outside
// guest memory are a malformed ring, which does stop the device.
func (t *transmitter) send(c queue.Chain) error {
	n := queue.Len(c.Readable)
	if n < HeaderSize || n > MaxFrame {
		t.d.txDropped.Add(1)
		return nil
	}
	f := t.buf[:n]
	if err := c.ReadAt(t.mem, f, 0); err != nil {
		return err
	}
	if err := t.d.backend.WriteFrame(f); err != nil {
		t.d.txDropped.Add(1)
		return nil
	}
	t.d.txFrames.Add(1)
	return nil
}
