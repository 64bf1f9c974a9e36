// Package virtio owns what every virtio device model shares: the device
// interface a transport (PCI or MMIO) drives, feature bits, and device
// status values. Device backends live in sub-packages (blk, ...) and the
// split virtqueue in queue; none of them knows which transport carries it.
package virtio

import (
	"fmt"

	"github.com/vmmlab/vmm/devices/virtio/queue"
)

// Feature bits every device offers or understands.
const (
	FeatureVersion1   = uint64(1) << 32 // VIRTIO_F_VERSION_1: a modern device
	FeatureEventIdx   = uint64(1) << 29 // VIRTIO_F_RING_EVENT_IDX
	FeatureIndirect   = uint64(1) << 28 // VIRTIO_F_RING_INDIRECT_DESC
	FeatureAccessPlat = uint64(1) << 33 // VIRTIO_F_ACCESS_PLATFORM (not offered)
)

// Device status bits (the driver writes them; NeedsReset is the device's).
const (
	StatusAcknowledge = 1
	StatusDriver      = 2
	StatusDriverOK    = 4
	StatusFeaturesOK  = 8
	StatusNeedsReset  = 64
	StatusFailed      = 128
)

// Device IDs.
const (
	IDNet     = 1
	IDBlock   = 2
	IDEntropy = 4
	IDBalloon = 5
	IDVsock   = 19
	IDPmem    = 27
)

// Interrupts lets a device tell the driver that queue i has used buffers,
// or that its configuration (or status: NEEDS_RESET) changed.
type Interrupts interface {
	Queue(i int) error
	Config() error
}

// Device is a virtio device backend as a transport sees it.
type Device interface {
	// ID is the virtio device ID.
	ID() uint32
	// Features are the feature bits the device offers.
	Features() uint64
	// QueueSizes lists the maximum size of each queue.
	QueueSizes() []uint16
	// ReadConfig and WriteConfig access the device-specific configuration
	// space; out-of-range accesses read zeros and are ignored.
	ReadConfig(offset uint64, data []byte)
	WriteConfig(offset uint64, data []byte)
	// Activate starts the device once the driver set DRIVER_OK, with the
	// negotiated features and the configured queues.
	Activate(mem queue.Memory, features uint64, queues []*queue.Queue, irq Interrupts) error
	// Notify is called when the driver notifies queue i.
	Notify(i int)
	// Reset stops the device and forgets the driver's settings.
	Reset()
	// Failed reports a fatal error (a malformed ring): the transport sets
	// DEVICE_NEEDS_RESET and raises a configuration interrupt.
	Failed() error
}

// CopyConfig serves a read of a device's configuration space held in cfg:
// data gets cfg's bytes from offset on, and zeros past its end.
func CopyConfig(cfg []byte, offset uint64, data []byte) {
	for i := range data {
		data[i] = 0
		if o := offset + uint64(i); o >= offset && o < uint64(len(cfg)) {
			data[i] = cfg[o]
		}
	}
}

// TakeQueues checks that a device given queues at activation got the
// number it has (want) and applies the negotiated ring features to each:
// event idx.
func TakeQueues(device string, want int, features uint64, queues []*queue.Queue) error {
	if len(queues) != want {
		return fmt.Errorf("%s: %d queues, want %d", device, len(queues), want)
	}
	for _, q := range queues {
		q.EventIdx = features&FeatureEventIdx != 0
	}
	return nil
}
