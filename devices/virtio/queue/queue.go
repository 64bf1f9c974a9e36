// Package queue owns the virtio 1.x split virtqueue as the device sees it:
// it pops descriptor chains the driver made available (direct and indirect
// descriptors) and publishes used buffers, reading and writing guest memory
// only through a bounds-checked interface. The queue holds guest addresses
// and indices, never host pointers. Everything in the rings is untrusted:
// a malformed ring yields an error wrapping ErrMalformed, which the device
// answers by setting DEVICE_NEEDS_RESET; nothing here can panic or loop
// forever on guest input.
package queue

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrMalformed is wrapped by every error caused by what the driver put in
// the rings or descriptors.
var ErrMalformed = errors.New("malformed virtqueue")

// Memory is the guest memory a queue works on; memory.Guest satisfies it.
type Memory interface {
	Read(addr uint64, p []byte) error
	Write(addr uint64, p []byte) error
}

// Descriptor flags.
const (
	DescNext     = 1
	DescWrite    = 2
	DescIndirect = 4
)

// Ring flags.
const (
	availNoInterrupt = 1
	usedNoNotify     = 1
)

// MaxSize is the largest queue size virtio allows for split queues.
const MaxSize = 32768

// Descriptor is one buffer of a chain, as the driver described it.
type Descriptor struct {
	Addr  uint64
	Len   uint32
	Flags uint16
	Next  uint16
}

// Writable reports whether the device may write the buffer.
func (d Descriptor) Writable() bool { return d.Flags&DescWrite != 0 }

// Chain is a popped descriptor chain with indirect tables expanded: the
// device-readable buffers come first, then the device-writable ones.
type Chain struct {
	Head     uint16
	Readable []Descriptor
	Writable []Descriptor
}

// Queue is the device side of one split virtqueue. The transport fills in
// Size, the three ring addresses and EventIdx from the driver's settings.
type Queue struct {
	Size      uint16
	DescTable uint64
	AvailRing uint64
	UsedRing  uint64
	// EventIdx is set when VIRTIO_F_EVENT_IDX was negotiated.
	EventIdx bool

	nextAvail uint16
	nextUsed  uint16
	// signalledUsed is the used index at the last interrupt (event idx).
	signalledUsed uint16
	signalled     bool
}

// Check validates the driver's settings: a power-of-two size no larger
// than MaxSize, and rings aligned as the spec requires.
func (q *Queue) Check() error {
	switch {
	case q.Size == 0 || q.Size > MaxSize || q.Size&(q.Size-1) != 0:
		return fmt.Errorf("%w: size %d is not a power of two up to %d", ErrMalformed, q.Size, MaxSize)
	case q.DescTable%16 != 0:
		return fmt.Errorf("%w: descriptor table %#x not 16-byte aligned", ErrMalformed, q.DescTable)
	case q.AvailRing%2 != 0:
		return fmt.Errorf("%w: available ring %#x not 2-byte aligned", ErrMalformed, q.AvailRing)
	case q.UsedRing%4 != 0:
		return fmt.Errorf("%w: used ring %#x not 4-byte aligned", ErrMalformed, q.UsedRing)
	}
	return nil
}

// Reset forgets the ring positions (the driver reset the device).
func (q *Queue) Reset() {
	*q = Queue{Size: q.Size}
}

func (q *Queue) read16(mem Memory, addr uint64) (uint16, error) {
	var b [2]byte
	if err := mem.Read(addr, b[:]); err != nil {
		return 0, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return binary.LittleEndian.Uint16(b[:]), nil
}

func (q *Queue) write16(mem Memory, addr uint64, v uint16) error {
	var b [2]byte
	binary.LittleEndian.PutUint16(b[:], v)
	if err := mem.Write(addr, b[:]); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return nil
}

// Pop takes the next available chain. ok is false when the driver has made
// nothing new available.
func (q *Queue) Pop(mem Memory) (c Chain, ok bool, err error) {
	availIdx, err := q.read16(mem, q.AvailRing+2)
	if err != nil {
		return Chain{}, false, err
	}
	pending := availIdx - q.nextAvail // wraps like the ring index does
	if pending == 0 {
		return Chain{}, false, nil
	}
	if pending > q.Size {
		return Chain{}, false, fmt.Errorf("%w: available index %d is %d ahead of the device (queue size %d)",
			ErrMalformed, availIdx, pending, q.Size)
	}
	head, err := q.read16(mem, q.AvailRing+4+2*uint64(q.nextAvail%q.Size))
	if err != nil {
		return Chain{}, false, err
	}
	c, err = q.walk(mem, head)
	if err != nil {
		return Chain{}, false, err
	}
	q.nextAvail++
	return c, true, nil
}

// Next is Pop for a device that drains the queue: when nothing is
// available it asks the driver for the next notification (with event idx:
// publishes avail_event) and then looks once more, for a buffer the driver
// added before it could see that request. Without this, a driver using
// event idx stops notifying after its first buffer.
func (q *Queue) Next(mem Memory) (Chain, bool, error) {
	c, ok, err := q.Pop(mem)
	if ok || err != nil {
		return c, ok, err
	}
	if err := q.SetNotify(mem, true); err != nil {
		return Chain{}, false, err
	}
	// Store (avail_event or used flags) then load (avail idx): x86 may
	// let the load pass the store, and then the device misses a buffer the
	// driver added while it did not yet see the request to notify: a
	// stalled queue. A full fence here, as vhost and rust-vmm have.
	fence(mem)
	return q.Pop(mem)
}

func readDesc(mem Memory, table uint64, i uint16) (Descriptor, error) {
	var b [16]byte
	if err := mem.Read(table+16*uint64(i), b[:]); err != nil {
		return Descriptor{}, fmt.Errorf("%w: descriptor %d: %v", ErrMalformed, i, err)
	}
	le := binary.LittleEndian
	return Descriptor{Addr: le.Uint64(b[:]), Len: le.Uint32(b[8:]), Flags: le.Uint16(b[12:]), Next: le.Uint16(b[14:])}, nil
}

// walk follows the chain at head. Each table is walked at most its own
// length in steps, so a loop in the next pointers ends in an error.
func (q *Queue) walk(mem Memory, head uint16) (Chain, error) {
	if head >= q.Size {
		return Chain{}, fmt.Errorf("%w: head %d outside the %d-entry table", ErrMalformed, head, q.Size)
	}
	c := Chain{Head: head}
	var total uint64
	add := func(d Descriptor) error {
		if d.Len == 0 {
			return nil // an empty buffer carries nothing; skip it
		}
		if d.Addr+uint64(d.Len) < d.Addr {
			return fmt.Errorf("%w: buffer at %#x+%#x in chain %d wraps past the end of the address space", ErrMalformed, d.Addr, d.Len, head)
		}
		total += uint64(d.Len)
		if total > 1<<32 {
			return fmt.Errorf("%w: chain %d longer than 4 GiB", ErrMalformed, head)
		}
		if d.Writable() {
			c.Writable = append(c.Writable, d)
		} else {
			if len(c.Writable) > 0 {
				return fmt.Errorf("%w: chain %d has a readable buffer after a writable one", ErrMalformed, head)
			}
			c.Readable = append(c.Readable, d)
		}
		return nil
	}
	table, size, i := q.DescTable, q.Size, head
	indirect := false
	for steps := 0; ; steps++ {
		if steps >= int(size) {
			return Chain{}, fmt.Errorf("%w: chain %d loops or exceeds %d descriptors", ErrMalformed, head, size)
		}
		d, err := readDesc(mem, table, i)
		if err != nil {
			return Chain{}, err
		}
		if d.Flags&DescIndirect != 0 {
			switch {
			case indirect:
				return Chain{}, fmt.Errorf("%w: nested indirect table in chain %d", ErrMalformed, head)
			case d.Flags&DescNext != 0:
				return Chain{}, fmt.Errorf("%w: indirect descriptor with NEXT in chain %d", ErrMalformed, head)
			case d.Len == 0 || d.Len%16 != 0 || d.Len/16 > MaxSize:
				return Chain{}, fmt.Errorf("%w: indirect table of %d bytes in chain %d", ErrMalformed, d.Len, head)
			}
			table, size, i, steps, indirect = d.Addr, uint16(d.Len/16), 0, -1, true
			continue
		}
		if err := add(d); err != nil {
			return Chain{}, err
		}
		if d.Flags&DescNext == 0 {
			return c, nil
		}
		if d.Next >= size {
			return Chain{}, fmt.Errorf("%w: next %d outside the %d-entry table in chain %d", ErrMalformed, d.Next, size, head)
		}
		i = d.Next
	}
}

// PushUsed returns chain head to the driver with written bytes written into
// its writable buffers. The element is written before the index, so the
// driver never sees an index that points at a stale element.
func (q *Queue) PushUsed(mem Memory, head uint16, written uint32) error {
	if head >= q.Size {
		return fmt.Errorf("used head %d outside the %d-entry table", head, q.Size)
	}
	var e [8]byte
	binary.LittleEndian.PutUint32(e[:], uint32(head))
	binary.LittleEndian.PutUint32(e[4:], written)
	if err := mem.Write(q.UsedRing+4+8*uint64(q.nextUsed%q.Size), e[:]); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	q.nextUsed++
	return q.write16(mem, q.UsedRing+2, q.nextUsed)
}

// NeedsInterrupt reports whether the driver wants an interrupt for the
// used buffers pushed since the last time this returned true.
func (q *Queue) NeedsInterrupt(mem Memory) (bool, error) {
	// Store (used idx, by PushUsed) then load (used_event or the avail
	// flags): the second store→load pair. Without the fence the driver can
	// ask for an interrupt after seeing the old index and never get it.
	fence(mem)
	if !q.EventIdx {
		flags, err := q.read16(mem, q.AvailRing)
		return err == nil && flags&availNoInterrupt == 0, err
	}
	event, err := q.read16(mem, q.AvailRing+4+2*uint64(q.Size)) // used_event
	if err != nil {
		return false, err
	}
	old, now := q.signalledUsed, q.nextUsed
	need := !q.signalled || now-event-1 < now-old
	if need {
		q.signalledUsed, q.signalled = now, true
	}
	return need, nil
}

// SetNotify tells the driver whether the device wants to be notified of
// new buffers (used ring flags, or avail_event with event idx).
func (q *Queue) SetNotify(mem Memory, on bool) error {
	if q.EventIdx {
		return q.write16(mem, q.UsedRing+4+8*uint64(q.Size), q.nextAvail) // avail_event
	}
	var flags uint16
	if !on {
		flags = usedNoNotify
	}
	return q.write16(mem, q.UsedRing, flags)
}

// Position is where the device is in the rings: what a snapshot keeps of a
// live queue besides the driver's settings.
type Position struct {
	NextAvail, NextUsed, SignalledUsed uint16
	Signalled                          bool
}

// Position reports the queue's ring positions.
func (q *Queue) Position() Position {
	return Position{NextAvail: q.nextAvail, NextUsed: q.nextUsed, SignalledUsed: q.signalledUsed, Signalled: q.signalled}
}

// SetPosition puts the queue back where a snapshot found it.
func (q *Queue) SetPosition(p Position) {
	q.nextAvail, q.nextUsed, q.signalledUsed, q.signalled = p.NextAvail, p.NextUsed, p.SignalledUsed, p.Signalled
}
