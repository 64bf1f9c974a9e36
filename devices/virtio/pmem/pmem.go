// Package pmem owns the virtio-pmem device model: a window of guest
// physical memory that the machine backs with a host file (shared pages:
// every VM that maps the file reads the host's one page cache copy), and
// one request queue on which the guest asks for its writes to reach the
// file (a flush). The device only tells the guest where the window is;
// mapping the file is the machine's job.
package pmem

import (
	"encoding/binary"
	"fmt"
	"sync/atomic"

	"github.com/vmmlab/vmm/devices/virtio"
	"github.com/vmmlab/vmm/devices/virtio/queue"
)

const (
	queueSize = 32
	// reqFlush is the one request type (VIRTIO_PMEM_REQ_TYPE_FLUSH).
	reqFlush = 0
	// The answer's status: 0 done, anything else an I/O error.
	respOK    = 0
	respError = 1
	// configSize is the configuration: start and size, little-endian.
	configSize = 16
)

// Flusher makes the guest's writes to the window durable in its file
// (fsync(2) of a writable file; nothing for a read-only one).
type Flusher func() error

// Device is one virtio-pmem device.
type Device struct {
	start, size uint64
	flush       Flusher

	virtio.Workers              // Notify, Reset, Failed: the device goroutines of the current activation
	mem            queue.Memory // of the current activation; set while no worker runs
	q              *queue.Queue
	irq            virtio.Interrupts
	flushes        atomic.Uint64
	failures       atomic.Uint64
}

// New makes a device that tells the guest its window is size bytes at
// guest-physical start, and serves flushes with flush.
func New(start, size uint64, flush Flusher) *Device {
	return &Device{start: start, size: size, flush: flush}
}

// ID is virtio.IDPmem.
func (d *Device) ID() uint32 { return virtio.IDPmem }

// Features offers indirect descriptors and event idx; the window is
// described by the configuration (no shared memory region feature).
func (d *Device) Features() uint64 {
	return virtio.FeatureVersion1 | virtio.FeatureIndirect | virtio.FeatureEventIdx
}

// QueueSizes: one request queue.
func (d *Device) QueueSizes() []uint16 { return []uint16{queueSize} }

// ReadConfig reads the window's start and size.
func (d *Device) ReadConfig(offset uint64, data []byte) {
	var cfg [configSize]byte
	binary.LittleEndian.PutUint64(cfg[0:], d.start)
	binary.LittleEndian.PutUint64(cfg[8:], d.size)
	virtio.CopyConfig(cfg[:], offset, data)
}

// WriteConfig ignores writes: the configuration is read-only.
func (d *Device) WriteConfig(offset uint64, data []byte) {}

// Activate starts serving the request queue.
func (d *Device) Activate(mem queue.Memory, features uint64, queues []*queue.Queue, irq virtio.Interrupts) error {
	if err := virtio.TakeQueues("virtio-pmem", 1, features, queues); err != nil {
		return err
	}
	d.Workers.Stop()
	d.mem, d.q, d.irq = mem, queues[0], irq
	d.Workers.Start(irq, d.serve)
	return nil
}

// Close stops the device. The machine closes the file.
func (d *Device) Close() error {
	d.Reset()
	return nil
}

// serve is the device goroutine: at each kick it answers every request.
func (d *Device) serve(kick, stop <-chan struct{}) error {
	for {
		select {
		case <-stop:
			return nil
		case <-kick:
		}
		if err := virtio.Drain(d.mem, d.q, d.irq, 0, stop, d.handle); err != nil {
			return err
		}
	}
}

// handle answers one request: a 4-byte type the device reads, then a
// 4-byte status it writes. Another shape is a malformed request; another
// type, or a flush that failed, is answered with an error status (the
// guest's driver then fails the write that asked, with EIO).
func (d *Device) handle(c queue.Chain) (uint32, error) {
	if queue.Len(c.Readable) < 4 || queue.Len(c.Writable) < 4 {
		return 0, fmt.Errorf("%w: virtio-pmem request of %d readable and %d writable bytes, want at least 4 of each",
			queue.ErrMalformed, queue.Len(c.Readable), queue.Len(c.Writable))
	}
	var req [4]byte
	if err := c.ReadAt(d.mem, req[:], 0); err != nil {
		return 0, err
	}
	status := uint32(respOK)
	if typ := binary.LittleEndian.Uint32(req[:]); typ != reqFlush || d.flush() != nil {
		status = respError
		d.failures.Add(1)
	} else {
		d.flushes.Add(1)
	}
	var resp [4]byte
	binary.LittleEndian.PutUint32(resp[:], status)
	if err := c.WriteAt(d.mem, resp[:], 0); err != nil {
		return 0, err
	}
	return 4, nil
}

// Counters says how many flushes the guest asked for, and how many were
// answered with an error, as vmm reports them.
func (d *Device) Counters() map[string]uint64 {
	return map[string]uint64{"flushes": d.flushes.Load(), "failed": d.failures.Load()}
}
