package vsock

import (
	"fmt"

	"github.com/vmmlab/vmm/devices/virtio"
	"github.com/vmmlab/vmm/devices/virtio/queue"
)

// serveRx is the rx goroutine: whenever the driver adds buffers or a
// host-side event queues a packet, it fills rx buffers with packets.
func (d *Device) serveRx(kick, stop <-chan struct{}) error {
	for {
		select {
		case <-stop:
			return nil
		case <-kick:
		case <-d.wake:
		}
		if err := d.fillRx(); err != nil {
			return err
		}
	}
}

func (d *Device) fillRx() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	pushed := false
	for d.pending() {
		c, ok, err := d.rxq.Next(d.mem)
		if err != nil {
			return err
		}
		if !ok {
			break // the driver adds buffers and notifies
		}
		n, err := d.writePacket(c)
		if err != nil {
			return err
		}
		if err := d.rxq.PushUsed(d.mem, c.Head, n); err != nil {
			return err
		}
		pushed = true
	}
	if !pushed {
		return nil
	}
	signal(d.room)
	return virtio.Interrupt(d.mem, d.rxq, d.irq, 0)
}

// pending reports whether a packet waits for the guest; it drops queued
// packets of connections that have ended and data the guest will not
// receive, so that a popped buffer always gets a packet. The caller holds
// d.mu.
func (d *Device) pending() bool {
	for len(d.control) > 0 && d.control[0].c != nil && d.control[0].c.gone {
		d.control = d.control[1:]
	}
	if len(d.control) > 0 {
		return true
	}
	for _, c := range d.conns {
		if d.ready(c) {
			return true
		}
	}
	return false
}

// ready reports whether open connection c has data the guest has credit
// for, or an EOF to pass on. The caller holds d.mu.
func (d *Device) ready(c *conn) bool {
	if c.state != stateOpen {
		return false
	}
	if c.peerShut&shutdownRcv != 0 && len(c.out) > 0 {
		c.out = c.out[:0] // the guest receives no more: discarded
		c.cond.Broadcast()
	}
	return len(c.out) > 0 && c.credit() > 0 || c.hostEOF && len(c.out) == 0 && !c.eofSent
}

// writePacket writes the next packet into rx chain ch and returns its
// length. The caller holds d.mu and saw pending.
func (d *Device) writePacket(ch queue.Chain) (uint32, error) {
	if len(ch.Readable) > 0 {
		return 0, fmt.Errorf("%w: virtio-vsock rx buffer with %d device-readable parts", queue.ErrMalformed, len(ch.Readable))
	}
	room := queue.Len(ch.Writable)
	if room < hdrSize {
		return 0, fmt.Errorf("%w: virtio-vsock rx buffer of %d bytes, less than a header", queue.ErrMalformed, room)
	}
	if len(d.control) > 0 {
		x := d.control[0]
		d.control = d.control[1:]
		h := x.h
		if x.c != nil {
			h = d.stamp(x.c, h)
		}
		b := h.encode()
		return hdrSize, ch.WriteAt(d.mem, b[:], 0)
	}
	for _, c := range d.conns {
		if !d.ready(c) {
			continue
		}
		if len(c.out) == 0 { // EOF from the host: the guest hears it sends no more
			c.eofSent = true
			b := d.stamp(c, header{Op: opShutdown, Flags: shutdownSend}).encode()
			return hdrSize, ch.WriteAt(d.mem, b[:], 0)
		}
		n := min(uint64(len(c.out)), uint64(c.credit()), room-hdrSize, maxPayload)
		b := d.stamp(c, header{Op: opRW, Len: uint32(n)}).encode()
		if err := ch.WriteAt(d.mem, b[:], 0); err != nil {
			return 0, err
		}
		if err := ch.WriteAt(d.mem, c.out[:n], hdrSize); err != nil {
			return 0, err
		}
		c.out = append(c.out[:0], c.out[n:]...)
		c.txCnt += uint32(n)
		d.toGuest += n
		c.cond.Broadcast()
		return hdrSize + uint32(n), nil
	}
	return 0, nil // not reached after pending
}

// serveTx is the tx goroutine: it takes the guest's packets and acts on
// them.
func (d *Device) serveTx(kick, stop <-chan struct{}) error {
	for {
		select {
		case <-stop:
			return nil
		case <-kick:
		}
		if err := virtio.Drain(d.mem, d.txq, d.irq, 1, stop, func(c queue.Chain) (uint32, error) { return 0, d.receive(c, stop) }); err != nil {
			return err
		}
	}
}

// receive reads one packet from tx chain ch and handles it, once fewer
// than maxControl packets wait for the rx queue (or stop says the device
// stops: the packet is then dropped).
func (d *Device) receive(ch queue.Chain, stop <-chan struct{}) error {
	total := queue.Len(ch.Readable)
	if len(ch.Writable) > 0 || total < hdrSize {
		return fmt.Errorf("%w: virtio-vsock tx chain of %d readable bytes and %d writable parts", queue.ErrMalformed, total, len(ch.Writable))
	}
	var b [hdrSize]byte
	if err := ch.ReadAt(d.mem, b[:], 0); err != nil {
		return err
	}
	h := decodeHeader(b)
	if h.Len > maxPayload || uint64(h.Len) > total-hdrSize {
		return fmt.Errorf("%w: virtio-vsock packet says %d bytes of payload, has %d", queue.ErrMalformed, h.Len, total-hdrSize)
	}
	payload := make([]byte, h.Len)
	if err := ch.ReadAt(d.mem, payload, hdrSize); err != nil {
		return err
	}
	d.mu.Lock()
	for len(d.control) >= maxControl {
		d.mu.Unlock()
		select {
		case <-stop:
			return nil
		case <-d.room:
		}
		d.mu.Lock()
	}
	d.handle(h, payload)
	d.mu.Unlock()
	d.wakeRx()
	return nil
}
