package netdev

import (
	"encoding/binary"
	"fmt"

	"github.com/vmmlab/vmm/devices/virtio"
	"github.com/vmmlab/vmm/devices/virtio/queue"
)

// receiver fills the guest's receive buffers with frames from the backend.
// With mergeable buffers a frame may span several chains; the header's
// num_buffers then says how many.
type receiver struct {
	d         *Device
	mem       queue.Memory
	q         *queue.Queue
	irq       virtio.Interrupts
	mergeable bool

	// A frame being delivered: the chains it fills so far.
	first queue.Chain
	used  []usedBuf
	off   int
}

type usedBuf struct {
	head uint16
	n    uint32
}

// run delivers frames until stop; it sleeps on kick while the guest has
// posted no room.
func (r *receiver) run(kick, stop <-chan struct{}) error {
	for {
		var f []byte
		select {
		case <-stop:
			return nil
		case f = <-r.d.frames:
		}
		err := r.deliverWhenRoom(f, kick, stop)
		r.d.free <- f[:cap(f)]
		if err != nil {
			return err
		}
	}
}

// deliverWhenRoom delivers f, waiting for the guest to post buffers as
// often as needed. It returns nil early on stop (the frame is dropped).
func (r *receiver) deliverWhenRoom(f []byte, kick, stop <-chan struct{}) error {
	for {
		done, err := r.deliver(f)
		if err != nil || done {
			return err
		}
		select {
		case <-stop:
			r.used, r.off = nil, 0
			return nil
		case <-kick:
		}
	}
}

// deliver copies f into available chains and publishes them. It returns
// false when it ran out of chains first; calling it again with the same
// frame continues where it stopped.
func (r *receiver) deliver(f []byte) (bool, error) {
	for r.off < len(f) {
		c, ok, err := r.q.Next(r.mem)
		if err != nil {
			return false, err
		}
		if !ok {
			return false, nil
		}
		room := queue.Len(c.Writable)
		if len(c.Readable) > 0 || room < HeaderSize {
			return false, fmt.Errorf("%w: virtio-net receive buffer of %d bytes (%d device-readable)",
				queue.ErrMalformed, room, len(c.Readable))
		}
		if !r.mergeable && room < uint64(len(f)) {
			// The guest's buffer is too small for this frame (it did not
			// post buffers sized for what it negotiated): drop the frame,
			// give the buffer back unused.
			r.d.rxDropped.Add(1)
			return true, r.publish([]usedBuf{{head: c.Head}})
		}
		n := min(room, uint64(len(f)-r.off))
		if err := c.WriteAt(r.mem, f[r.off:r.off+int(n)], 0); err != nil {
			return false, err
		}
		if len(r.used) == 0 {
			r.first = c
		}
		r.used = append(r.used, usedBuf{head: c.Head, n: uint32(n)})
		r.off += int(n)
		if r.off < len(f) && len(r.used) >= int(r.q.Size) {
			// Every entry of the ring holds part of this frame and it
			// still does not fit: waiting would never end.
			return false, fmt.Errorf("%w: virtio-net receive ring of %d buffers cannot hold a %d-byte frame",
				queue.ErrMalformed, r.q.Size, len(f))
		}
	}
	var count [2]byte
	binary.LittleEndian.PutUint16(count[:], uint16(len(r.used)))
	if err := r.first.WriteAt(r.mem, count[:], 10); err != nil { // num_buffers
		return false, err
	}
	used := r.used
	r.used, r.off = r.used[:0], 0
	r.d.rxFrames.Add(1)
	return true, r.publish(used)
}

// publish returns the chains to the guest and interrupts it if it asked.
func (r *receiver) publish(used []usedBuf) error {
	for _, u := range used {
		if err := r.q.PushUsed(r.mem, u.head, u.n); err != nil {
			return err
		}
	}
	return virtio.Interrupt(r.mem, r.q, r.irq, rxQueue)
}
