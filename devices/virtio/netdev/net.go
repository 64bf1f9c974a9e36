// Package net owns the virtio-net device model: frames the guest sends on
// its transmit queue go to a host backend (a TAP interface), and frames
// from the backend fill the buffers the guest posts on its receive queue.
// Each frame carries the 12-byte virtio-net header (checksum and
// segmentation offload) unchanged in both directions, so the backend must
// speak that header too (a TAP with IFF_VNET_HDR and a 12-byte header
// does). Transmit and receive each run on a goroutine of the device, never
// on a vCPU, and the receive side sleeps until the guest posts buffers
// rather than polling.
package netdev

import (
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/vmmlab/vmm/devices/virtio"
	"github.com/vmmlab/vmm/devices/virtio/queue"
)

// Feature bits of virtio-net.
const (
	FeatureCSUM      = uint64(1) << 0  // the guest may send partially checksummed frames
	FeatureGuestCSUM = uint64(1) << 1  // the guest accepts partially checksummed frames
	FeatureMAC       = uint64(1) << 5  // config holds the MAC address
	FeatureGuestTSO4 = uint64(1) << 7  // the guest accepts TCPv4 segmentation offload
	FeatureGuestTSO6 = uint64(1) << 8  // ... TCPv6
	FeatureGuestECN  = uint64(1) << 9  // ... with ECN
	FeatureHostTSO4  = uint64(1) << 11 // the guest may send TCPv4 GSO frames
	FeatureHostTSO6  = uint64(1) << 12
	FeatureHostECN   = uint64(1) << 13
	FeatureMrgRxbuf  = uint64(1) << 15 // a received frame may span several buffers
	FeatureStatus    = uint64(1) << 16 // config holds the link status
)

const (
	// HeaderSize is the size of struct virtio_net_hdr_v1 (with num_buffers).
	HeaderSize = 12
	// MaxFrame bounds a frame with its header: a 64 KiB GSO packet plus
	// its Ethernet (and VLAN) header.
	MaxFrame = HeaderSize + 65535 + 18

	rxQueue   = 0
	txQueue   = 1
	queueSize = 256
	linkUp    = 1
	// rxBuffers is how many frames may wait between the backend and the
	// receive queue.
	rxBuffers = 4
)

// Offload says which offloads the guest accepts on frames it receives,
// so the backend must not hand it anything else.
type Offload struct {
	CSUM, TSO4, TSO6, ECN bool
}

// Backend carries frames, each starting with its virtio-net header.
type Backend interface {
	// ReadFrame blocks until a frame arrives and copies it into p; it
	// returns an error once the backend is closed.
	ReadFrame(p []byte) (int, error)
	// WriteFrame sends one frame.
	WriteFrame(p []byte) error
	// SetOffload tells the backend which offloads the guest accepts.
	SetOffload(Offload) error
	Close() error
}

// Stats counts frames; dropped ones are malformed or oversized frames
// from the guest, frames the backend refused, and received frames too
// large for the guest's buffers.
type Stats struct {
	TxFrames, TxDropped, RxFrames, RxDropped uint64
}

// Device is one virtio-net interface.
type Device struct {
	backend Backend
	mac     [6]byte

	frames     chan []byte // filled by the reader goroutine
	free       chan []byte
	closed     chan struct{}
	readerDone chan struct{}
	closeOnce  sync.Once

	txFrames, txDropped, rxFrames, rxDropped atomic.Uint64

	virtio.Workers // Notify, Reset, Failed: the receive (0) and transmit (1) goroutines of the current activation
}

// New makes an interface with address mac over backend and starts reading
// frames from it; Close stops that and closes the backend.
func New(backend Backend, mac [6]byte) *Device {
	d := &Device{backend: backend, mac: mac, frames: make(chan []byte), free: make(chan []byte, rxBuffers),
		closed: make(chan struct{}), readerDone: make(chan struct{})}
	for range rxBuffers {
		d.free <- make([]byte, MaxFrame)
	}
	go d.read()
	return d
}

// read moves frames from the backend to the receive worker until Close.
func (d *Device) read() {
	defer close(d.readerDone)
	for {
		var buf []byte
		select {
		case buf = <-d.free:
		case <-d.closed:
			return
		}
		n, err := d.backend.ReadFrame(buf)
		if err != nil {
			return // closed (or the interface went away)
		}
		if n < HeaderSize {
			d.rxDropped.Add(1)
			d.free <- buf
			continue
		}
		select {
		case d.frames <- buf[:n]:
		case <-d.closed:
			return
		}
	}
}

// Close stops the device and closes the backend.
func (d *Device) Close() error {
	d.Reset()
	var err error
	d.closeOnce.Do(func() {
		close(d.closed)
		err = d.backend.Close()
		<-d.readerDone
	})
	return err
}

// MAC is the interface's address, as the guest reads it.
func (d *Device) MAC() [6]byte { return d.mac }

// ID is virtio.IDNet.
func (d *Device) ID() uint32 { return virtio.IDNet }

// Features offers checksum and TCP segmentation offload both ways,
// mergeable receive buffers, the MAC address and link status.
func (d *Device) Features() uint64 {
	return virtio.FeatureVersion1 | virtio.FeatureIndirect | virtio.FeatureEventIdx |
		FeatureCSUM | FeatureGuestCSUM | FeatureMAC | FeatureGuestTSO4 | FeatureGuestTSO6 | FeatureGuestECN |
		FeatureHostTSO4 | FeatureHostTSO6 | FeatureHostECN | FeatureMrgRxbuf | FeatureStatus
}

// QueueSizes: one receive and one transmit queue.
func (d *Device) QueueSizes() []uint16 { return []uint16{queueSize, queueSize} }

// ReadConfig serves struct virtio_net_config: mac, status (link up) and
// max_virtqueue_pairs.
func (d *Device) ReadConfig(offset uint64, data []byte) {
	var cfg [10]byte
	copy(cfg[:], d.mac[:])
	binary.LittleEndian.PutUint16(cfg[6:], linkUp)
	binary.LittleEndian.PutUint16(cfg[8:], 1)
	virtio.CopyConfig(cfg[:], offset, data)
}

// WriteConfig ignores writes (the legacy writable MAC is not offered).
func (d *Device) WriteConfig(offset uint64, data []byte) {}

// Activate tells the backend the negotiated offloads and starts the
// receive and transmit workers.
func (d *Device) Activate(mem queue.Memory, features uint64, queues []*queue.Queue, irq virtio.Interrupts) error {
	if err := virtio.TakeQueues("virtio-net", 2, features, queues); err != nil {
		return err
	}
	d.Workers.Stop()
	csum := features&FeatureGuestCSUM != 0
	off := Offload{CSUM: csum, TSO4: csum && features&FeatureGuestTSO4 != 0, TSO6: csum && features&FeatureGuestTSO6 != 0}
	off.ECN = (off.TSO4 || off.TSO6) && features&FeatureGuestECN != 0
	if err := d.backend.SetOffload(off); err != nil {
		return fmt.Errorf("virtio-net: %w", err)
	}
	rx := &receiver{d: d, mem: mem, q: queues[rxQueue], irq: irq, mergeable: features&FeatureMrgRxbuf != 0}
	tx := &transmitter{d: d, mem: mem, q: queues[txQueue], irq: irq}
	d.Workers.Start(irq, rx.run, tx.run) // in queue order: rxQueue, txQueue
	return nil
}

// Stats returns the frame counters.
func (d *Device) Stats() Stats {
	return Stats{TxFrames: d.txFrames.Load(), TxDropped: d.txDropped.Load(),
		RxFrames: d.rxFrames.Load(), RxDropped: d.rxDropped.Load()}
}
