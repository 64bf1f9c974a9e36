package virtio

import (
	"fmt"
	"sync"

	"github.com/vmmlab/vmm/devices/virtio/queue"
)

// NoVector is the MSI-X "no vector" value; queues start with it.
const NoVector = 0xffff

// QueueConfig is what the driver set up for one queue.
type QueueConfig struct {
	Q      queue.Queue
	Max    uint16
	Ready  bool
	Vector uint16 // MSI-X vector (PCI only)
}

// Core is the part of a virtio transport that does not depend on how
// registers are laid out: feature negotiation, device status, queue
// set-up, the interrupt status bits, and activating and resetting the
// device. A transport (PCI, MMIO) maps its registers onto it. The embedded
// mutex guards every field; a transport may guard its own state with it.
type Core struct {
	sync.Mutex
	// status serialises status changes (SetStatus) from all vCPUs, so that
	// an activation and a reset never run at the same time. It is taken
	// before the Mutex and held while the device starts or stops.
	status sync.Mutex
	dev    Device
	mem    queue.Memory

	DevFeatSel, DrvFeatSel uint32
	DrvFeatures            uint64
	Status                 uint8
	Generation             uint8
	QueueSel               uint32
	Queues                 []QueueConfig
	// ISR holds the pending interrupt reasons: bit 0 used buffers,
	// bit 1 configuration change.
	ISR    uint8
	Active bool
	// failure is why the transport gave up on the device since the last
	// reset (its activation failed, an interrupt could not be delivered);
	// firstFailure is the first ever, kept across resets for Failure.
	failure, firstFailure error
	// OnReset, if set, runs with the lock held when the driver resets the
	// device, to clear transport state.
	OnReset func()
}

// NewCore prepares the transport state for dev over guest memory mem.
func NewCore(dev Device, mem queue.Memory) *Core {
	c := &Core{dev: dev, mem: mem}
	for _, max := range dev.QueueSizes() {
		c.Queues = append(c.Queues, QueueConfig{Max: max, Vector: NoVector, Q: queue.Queue{Size: max}})
	}
	return c
}

// Device is the device behind the transport.
func (c *Core) Device() Device { return c.dev }

// DeviceFeatureWord is the 32 bits of the device's features that
// DevFeatSel selects. Call with the lock held.
func (c *Core) DeviceFeatureWord() uint32 {
	if c.DevFeatSel < 2 {
		return uint32(c.dev.Features() >> (32 * c.DevFeatSel))
	}
	return 0
}

// DriverFeatureWord is the 32 bits of the driver's features that
// DrvFeatSel selects. Call with the lock held.
func (c *Core) DriverFeatureWord() uint32 {
	if c.DrvFeatSel < 2 {
		return uint32(c.DrvFeatures >> (32 * c.DrvFeatSel))
	}
	return 0
}

// SetDriverFeatureWord stores 32 bits of the driver's features; after
// FEATURES_OK they are fixed. Call with the lock held.
func (c *Core) SetDriverFeatureWord(v uint32) {
	if c.DrvFeatSel < 2 && c.Status&StatusFeaturesOK == 0 {
		sh := 32 * uint64(c.DrvFeatSel)
		c.DrvFeatures = c.DrvFeatures&^(0xffffffff<<sh) | uint64(v)<<sh
	}
}

// Selected is the queue QueueSel names, or nil. Call with the lock held.
func (c *Core) Selected() *QueueConfig {
	if int64(c.QueueSel) < int64(len(c.Queues)) {
		return &c.Queues[c.QueueSel]
	}
	return nil
}

// A queue's configuration (size, ring addresses, enable) is fixed once the
// device is live: the spec forbids the driver to change it after
// DRIVER_OK, and a hostile one doing so (enable=0, size=0 while the device
// works on the queue) once crashed vmm. Such writes are ignored.

// SetQueueSize sets the selected queue's size while it is not ready and
// the device is not live; a size above the maximum is ignored. Call with
// the lock held.
func (c *Core) SetQueueSize(n uint16) {
	if q := c.Selected(); q != nil && !q.Ready && !c.Active && n <= q.Max {
		q.Q.Size = n
	}
}

// SetQueueReady enables or disables the selected queue while the device
// is not live. Call with the lock held.
func (c *Core) SetQueueReady(ready bool) {
	if q := c.Selected(); q != nil && !c.Active {
		q.Ready = ready
	}
}

// Ring addresses a transport sets in 32-bit halves.
const (
	RingDesc = iota
	RingAvail
	RingUsed
)

// SetQueueAddr sets half (0 low, 1 high) of ring's address of the
// selected queue while it is not ready. Call with the lock held.
func (c *Core) SetQueueAddr(ring, half int, v uint32) {
	q := c.Selected()
	if q == nil || q.Ready || c.Active || ring < RingDesc || ring > RingUsed || half < 0 || half > 1 {
		return
	}
	ptr := [3]*uint64{&q.Q.DescTable, &q.Q.AvailRing, &q.Q.UsedRing}[ring]
	sh := 32 * uint64(half)
	*ptr = *ptr&^(0xffffffff<<sh) | uint64(v)<<sh
}

// QueueAddr reads back half of ring's address of the selected queue.
// Call with the lock held.
func (c *Core) QueueAddr(ring, half int) uint32 {
	q := c.Selected()
	if q == nil || ring < RingDesc || ring > RingUsed || half < 0 || half > 1 {
		return 0
	}
	return uint32([3]uint64{q.Q.DescTable, q.Q.AvailRing, q.Q.UsedRing}[ring] >> (32 * half))
}

// SetStatus handles a driver write of device_status: 0 resets,
// FEATURES_OK is refused for features the device does not offer (or
// without VERSION_1), and DRIVER_OK activates the device with the ready
// queues and the transport's interrupts. Call it WITHOUT the lock: it
// calls into the device, whose goroutines take the lock to interrupt.
// Status writes from several vCPUs are carried out one at a time.
func (c *Core) SetStatus(s uint8, irq Interrupts) {
	c.status.Lock()
	defer c.status.Unlock()
	if s == 0 {
		c.dev.Reset()
		c.Lock()
		c.Status, c.DrvFeatures, c.ISR, c.Active, c.failure = 0, 0, 0, false, nil
		c.Generation++
		for i := range c.Queues {
			c.Queues[i] = QueueConfig{Max: c.Queues[i].Max, Vector: NoVector, Q: queue.Queue{Size: c.Queues[i].Max}}
		}
		if c.OnReset != nil {
			c.OnReset()
		}
		c.Unlock()
		return
	}
	c.Lock()
	if s&StatusFeaturesOK != 0 && c.Status&StatusFeaturesOK == 0 {
		if c.DrvFeatures&^c.dev.Features() != 0 || c.DrvFeatures&FeatureVersion1 == 0 {
			s &^= StatusFeaturesOK // the driver reads it back and gives up
		}
	}
	c.Status = s | c.Status&StatusNeedsReset
	activate := s&StatusDriverOK != 0 && s&StatusFeaturesOK != 0 && !c.Active
	var queues []*queue.Queue
	var err error
	if activate {
		c.Active = true
		queues, err = c.readyQueuesLocked()
	}
	features := c.DrvFeatures
	c.Unlock()
	if activate && err == nil {
		err = c.dev.Activate(c.mem, features, queues, irq)
	}
	if err != nil {
		// The device gives up: NEEDS_RESET and a configuration interrupt
		// tell the driver, Failure tells vmm.
		c.Lock()
		c.NoteFailureLocked(fmt.Errorf("activation: %w", err))
		c.Unlock()
		irq.Config()
	}
}

// NoteFailureLocked records why the device stopped working (the first
// reason counts) and marks NEEDS_RESET. Call with the lock held.
func (c *Core) NoteFailureLocked(err error) {
	if c.failure == nil {
		c.failure = err
	}
	if c.firstFailure == nil {
		c.firstFailure = err
	}
	c.Status |= StatusNeedsReset
}

// Failure reports why the device stopped working, if it ever did: the
// transport's reason or the device's own (a malformed ring). vmm reports
// it when the run ends.
func (c *Core) Failure() error {
	c.Lock()
	failure := c.firstFailure
	c.Unlock()
	if failure != nil {
		return failure
	}
	return c.dev.Failed()
}

// readyQueuesLocked checks the queues and returns copies for the device:
// the device's queue state is its own, never shared with the transport's
// registers. A device without all its queues ready is not activated.
func (c *Core) readyQueuesLocked() ([]*queue.Queue, error) {
	var qs []*queue.Queue
	for i := range c.Queues {
		q := &c.Queues[i]
		if !q.Ready {
			return nil, fmt.Errorf("queue %d not enabled", i)
		}
		if err := q.Q.Check(); err != nil {
			return nil, fmt.Errorf("queue %d: %w", i, err)
		}
		own := q.Q
		qs = append(qs, &own)
	}
	return qs, nil
}

// Notify passes a driver notification of queue i to an active device.
// Call it without the lock.
func (c *Core) Notify(i int) {
	c.Lock()
	active := c.Active && i >= 0 && i < len(c.Queues)
	c.Unlock()
	if active {
		c.dev.Notify(i)
	}
}

// RaiseLocked records an interrupt reason (ISR bit 0 for queue i, bit 1
// for config) and, for a config interrupt, marks NEEDS_RESET if the
// device failed and bumps the generation. Call with the lock held.
func (c *Core) RaiseLocked(config bool) {
	if !config {
		c.ISR |= 1
		return
	}
	if err := c.dev.Failed(); err != nil {
		c.NoteFailureLocked(err) // NEEDS_RESET, and vmm reports it at the end
	}
	if c.failure != nil {
		c.Status |= StatusNeedsReset
	}
	c.ISR |= 2
	c.Generation++
}

// Doorbell is where a driver notifies a queue: a guest-physical address
// written with Len bytes, and with Match only that value. A machine can
// have KVM signal an eventfd for it (ioeventfd) instead of exiting to vmm.
type Doorbell struct {
	Addr  uint64
	Len   uint32
	Match *uint64
	Queue int
}
