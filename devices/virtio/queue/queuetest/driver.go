// Package queuetest is a fake virtio driver for tests: it lays out a split
// virtqueue in plain memory and makes buffers available and reads used
// ones back, the way a guest driver does, so device models can be tested
// without a VM. Memory accesses by the device (through Mem) and by the
// driver are serialised by one lock, so that a device running on its own
// goroutine can be tested under the race detector. That lock orders more
// than a real guest does: it does not test the device's memory barriers
// (package queue's fence tests check where those are).
package queuetest

import (
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/vmmlab/vmm/devices/virtio/queue"
	"github.com/vmmlab/vmm/memory"
)

// Memory is the fake guest memory; devices use it as queue.Memory.
type Memory struct {
	mu    sync.Mutex
	guest *memory.Guest
}

// Read implements queue.Memory.
func (m *Memory) Read(addr uint64, p []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.guest.Read(addr, p)
}

// Write implements queue.Memory.
func (m *Memory) Write(addr uint64, p []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.guest.Write(addr, p)
}

// Driver owns guest memory holding one queue and a data area.
type Driver struct {
	Mem *Memory
	// Queue is the device-side view, configured like a transport would.
	Queue queue.Queue

	raw      []byte
	dataLo   uint64 // this driver's data area: [dataLo, dataHi)
	dataHi   uint64
	dataNext uint64
	descNext uint16
	availIdx uint16
	usedSeen uint16
}

// Buffer is one buffer of a chain the driver made available.
type Buffer struct {
	Addr uint64
	Len  uint32
}

const dataStart = 0x10000

// New lays out a queue of size entries at guest address 0x1000 with memSize
// bytes of guest RAM (at least 128 KiB).
func New(size uint16, memSize int) *Driver {
	return NewSet(1, size, memSize)[0]
}

// NewSet lays out n queues of size entries in one guest memory of memSize
// bytes, as a device with several queues (virtio-net) sees them; each
// driver hands out data buffers from its own share of the memory.
func NewSet(n int, size uint16, memSize int) []*Driver {
	raw := make([]byte, memSize)
	mem, err := memory.Wrap(memory.Region{Base: 0, Data: raw})
	if err != nil {
		panic(err) // a test set-up mistake, not guest input
	}
	stride := (16*uint64(size) + 6 + 2*uint64(size) + 3 + 6 + 8*uint64(size) + 0xfff) &^ 0xfff
	start := max(dataStart, (0x1000+uint64(n)*stride+0xffff)&^0xffff)
	share := (uint64(memSize) - start) / uint64(n) &^ 15
	if start >= uint64(memSize) || share < 0x1000 {
		panic(fmt.Sprintf("queuetest: %d bytes of memory is too little for %d queues", memSize, n))
	}
	shared := &Memory{guest: mem}
	drivers := make([]*Driver, n)
	for i := range drivers {
		desc := 0x1000 + uint64(i)*stride
		avail := desc + 16*uint64(size)
		used := (avail + 6 + 2*uint64(size) + 3) &^ 3
		lo := start + uint64(i)*share
		drivers[i] = &Driver{Mem: shared, raw: raw, dataLo: lo, dataHi: lo + share, dataNext: lo,
			Queue: queue.Queue{Size: size, DescTable: desc, AvailRing: avail, UsedRing: used}}
	}
	return drivers
}

// alloc hands out data buffers from a ring over the data area: long tests
// reuse buffers the device has long finished with.
func (d *Driver) alloc(data []byte, n uint32) Buffer {
	if d.dataNext+uint64(n) > d.dataHi {
		d.dataNext = d.dataLo
	}
	b := Buffer{Addr: d.dataNext, Len: n}
	d.Mem.mu.Lock()
	copy(d.raw[b.Addr:], data)
	d.Mem.mu.Unlock()
	d.dataNext += (uint64(n) + 15) &^ 15
	return b
}

// SetDesc writes descriptor i of the table at table (raw, for malformed tests).
func (d *Driver) SetDesc(table uint64, i uint16, desc queue.Descriptor) {
	d.Mem.mu.Lock()
	defer d.Mem.mu.Unlock()
	b := d.raw[table+16*uint64(i):]
	le := binary.LittleEndian
	le.PutUint64(b, desc.Addr)
	le.PutUint32(b[8:], desc.Len)
	le.PutUint16(b[12:], desc.Flags)
	le.PutUint16(b[14:], desc.Next)
}

// Publish puts head in the available ring and bumps the index.
func (d *Driver) Publish(head uint16) {
	d.Mem.mu.Lock()
	defer d.Mem.mu.Unlock()
	q := &d.Queue // only the fields the transport set: the device owns the rest
	binary.LittleEndian.PutUint16(d.raw[q.AvailRing+4+2*uint64(d.availIdx%q.Size):], head)
	d.availIdx++
	binary.LittleEndian.PutUint16(d.raw[q.AvailRing+2:], d.availIdx)
}

// Add makes a chain available: readable buffers holding the given bytes,
// then writable buffers of the given sizes. It returns the head and the
// buffers in chain order.
func (d *Driver) Add(readable [][]byte, writable []uint32) (uint16, []Buffer) {
	bufs, descs := d.buffers(readable, writable)
	head := d.descNext
	for i, desc := range descs {
		idx := (head + uint16(i)) % d.Queue.Size
		if i < len(descs)-1 {
			desc.Flags |= queue.DescNext
			desc.Next = (idx + 1) % d.Queue.Size
		}
		d.SetDesc(d.Queue.DescTable, idx, desc)
	}
	d.descNext = (head + uint16(len(descs))) % d.Queue.Size
	d.Publish(head)
	return head, bufs
}

// AddIndirect is Add with the chain in an indirect table.
func (d *Driver) AddIndirect(readable [][]byte, writable []uint32) (uint16, []Buffer) {
	bufs, descs := d.buffers(readable, writable)
	table := d.alloc(nil, uint32(16*len(descs)))
	for i, desc := range descs {
		if i < len(descs)-1 {
			desc.Flags |= queue.DescNext
			desc.Next = uint16(i + 1)
		}
		d.SetDesc(table.Addr, uint16(i), desc)
	}
	head := d.descNext
	d.SetDesc(d.Queue.DescTable, head, queue.Descriptor{Addr: table.Addr, Len: table.Len, Flags: queue.DescIndirect})
	d.descNext = (head + 1) % d.Queue.Size
	d.Publish(head)
	return head, bufs
}

func (d *Driver) buffers(readable [][]byte, writable []uint32) ([]Buffer, []queue.Descriptor) {
	var bufs []Buffer
	var descs []queue.Descriptor
	for _, r := range readable {
		b := d.alloc(r, uint32(len(r)))
		bufs = append(bufs, b)
		descs = append(descs, queue.Descriptor{Addr: b.Addr, Len: b.Len})
	}
	for _, n := range writable {
		b := d.alloc(nil, n)
		bufs = append(bufs, b)
		descs = append(descs, queue.Descriptor{Addr: b.Addr, Len: b.Len, Flags: queue.DescWrite})
	}
	return bufs, descs
}

// Used returns the next used element the device published, if any.
func (d *Driver) Used() (head uint16, written uint32, ok bool) {
	d.Mem.mu.Lock()
	defer d.Mem.mu.Unlock()
	q := &d.Queue
	idx := binary.LittleEndian.Uint16(d.raw[q.UsedRing+2:])
	if idx == d.usedSeen {
		return 0, 0, false
	}
	e := d.raw[q.UsedRing+4+8*uint64(d.usedSeen%q.Size):]
	d.usedSeen++
	return uint16(binary.LittleEndian.Uint32(e)), binary.LittleEndian.Uint32(e[4:]), true
}

// InFlight is how many chains the driver made available whose used
// element it has not read yet.
func (d *Driver) InFlight() int {
	d.Mem.mu.Lock()
	defer d.Mem.mu.Unlock()
	return int(d.availIdx - d.usedSeen)
}

// Bytes returns a copy of the contents of buffer b.
func (d *Driver) Bytes(b Buffer) []byte {
	d.Mem.mu.Lock()
	defer d.Mem.mu.Unlock()
	return append([]byte(nil), d.raw[b.Addr:b.Addr+uint64(b.Len)]...)
}

// SetAvailFlags sets the available ring's flags (e.g. NO_INTERRUPT = 1).
func (d *Driver) SetAvailFlags(f uint16) {
	d.Mem.mu.Lock()
	defer d.Mem.mu.Unlock()
	binary.LittleEndian.PutUint16(d.raw[d.Queue.AvailRing:], f)
}

// SetUsedEvent sets used_event (with VIRTIO_F_EVENT_IDX).
func (d *Driver) SetUsedEvent(v uint16) {
	d.Mem.mu.Lock()
	defer d.Mem.mu.Unlock()
	binary.LittleEndian.PutUint16(d.raw[d.Queue.AvailRing+4+2*uint64(d.Queue.Size):], v)
}

// String summarises the driver's ring positions, for test failures.
func (d *Driver) String() string {
	return fmt.Sprintf("avail %d, used seen %d, next desc %d", d.availIdx, d.usedSeen, d.descNext)
}
