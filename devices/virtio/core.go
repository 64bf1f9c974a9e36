package virtio

import (
	"fmt"
	"sync"

	"github.com/vmmlab/vmm/devices/virtio/queue"
)

// NoVector is the MSI-X "no vector" value; queues start with it.
const NoVector = 0xffff

// queueConfig is what the driver set up for one queue.
type queueConfig struct {
	q      queue.Queue
	max    uint16
	ready  bool
	vector uint16 // MSI-X vector (PCI only)
}

// Core is the part of a virtio transport that does not depend on how
// registers are laid out: feature negotiation, device status, queue
// set-up, the interrupt status bits, and activating and resetting the
// device. A transport (PCI, MMIO) maps its registers onto Core's methods.
//
// Every method takes Core's own lock and never calls the transport while
// holding it (OnReset runs after it is released). A transport with state
// of its own (PCI's MSI-X table, INTx level) guards it with its own lock,
// which it may hold while it calls Core; never the other way round.
type Core struct {
	mu sync.Mutex
	// status serialises status changes (SetStatus) from all vCPUs, so that
	// an activation and a reset never run at the same time. It is taken
	// before mu and held while the device starts or stops.
	status  sync.Mutex
	dev     Device
	mem     queue.Memory
	onReset func()

	devFeatSel, drvFeatSel uint32
	drvFeatures            uint64
	deviceStatus           uint8
	generation             uint8
	queueSel               uint32
	queues                 []queueConfig
	// isr holds the pending interrupt reasons: bit 0 used buffers, bit 1
	// configuration change.
	isr    uint8
	active bool
	// live are the queues the device got at activation (their ring
	// positions are the device's), irq the interrupts it got: a snapshot
	// reads the positions, a restart hands both back.
	live []*queue.Queue
	irq  Interrupts
	// failure is why the transport gave up on the device since the last
	// reset (its activation failed, an interrupt could not be delivered);
	// firstFailure is the first ever, kept across resets for Failure.
	failure, firstFailure error
}

// NewCore prepares the transport state for dev over guest memory mem.
// onReset, if not nil, runs (without Core's lock) each time the driver
// resets the device, for the transport to clear its own state.
func NewCore(dev Device, mem queue.Memory, onReset func()) *Core {
	c := &Core{dev: dev, mem: mem, onReset: onReset}
	for _, max := range dev.QueueSizes() {
		c.queues = append(c.queues, queueConfig{max: max, vector: NoVector, q: queue.Queue{Size: max}})
	}
	return c
}

// Device is the device behind the transport.
func (c *Core) Device() Device { return c.dev }

// NumQueues is how many queues the device has.
func (c *Core) NumQueues() int { return len(c.queues) }

// locked runs f with the lock held and returns what it returns.
func locked[T any](c *Core, f func() T) T {
	c.mu.Lock()
	defer c.mu.Unlock()
	return f()
}

// DeviceFeatureSelect and SetDeviceFeatureSelect access the selector of
// the device feature window.
func (c *Core) DeviceFeatureSelect() uint32 { return locked(c, func() uint32 { return c.devFeatSel }) }

// SetDeviceFeatureSelect: see DeviceFeatureSelect.
func (c *Core) SetDeviceFeatureSelect(v uint32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.devFeatSel = v
}

// DriverFeatureSelect and SetDriverFeatureSelect access the selector of
// the driver feature window.
func (c *Core) DriverFeatureSelect() uint32 { return locked(c, func() uint32 { return c.drvFeatSel }) }

// SetDriverFeatureSelect: see DriverFeatureSelect.
func (c *Core) SetDriverFeatureSelect(v uint32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.drvFeatSel = v
}

// DeviceFeatureWord is the 32 bits of the device's features that the
// device feature selector names.
func (c *Core) DeviceFeatureWord() uint32 {
	return locked(c, func() uint32 {
		if c.devFeatSel < 2 {
			return uint32(c.dev.Features() >> (32 * c.devFeatSel))
		}
		return 0
	})
}

// DriverFeatureWord is the 32 bits of the driver's features that the
// driver feature selector names.
func (c *Core) DriverFeatureWord() uint32 {
	return locked(c, func() uint32 {
		if c.drvFeatSel < 2 {
			return uint32(c.drvFeatures >> (32 * c.drvFeatSel))
		}
		return 0
	})
}

// SetDriverFeatureWord stores 32 bits of the driver's features; after
// FEATURES_OK they are fixed.
func (c *Core) SetDriverFeatureWord(v uint32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.drvFeatSel < 2 && c.deviceStatus&StatusFeaturesOK == 0 {
		sh := 32 * uint64(c.drvFeatSel)
		c.drvFeatures = c.drvFeatures&^(0xffffffff<<sh) | uint64(v)<<sh
	}
}

// Status is the device status; Generation the configuration generation.
func (c *Core) Status() uint8 { return locked(c, func() uint8 { return c.deviceStatus }) }

// Generation: see Status.
func (c *Core) Generation() uint8 { return locked(c, func() uint8 { return c.generation }) }

// ISR is the pending interrupt reasons, unchanged.
func (c *Core) ISR() uint8 { return locked(c, func() uint8 { return c.isr }) }

// TakeISR returns the pending interrupt reasons and clears them, as a
// read of the PCI ISR register does.
func (c *Core) TakeISR() uint8 {
	return locked(c, func() uint8 {
		v := c.isr
		c.isr = 0
		return v
	})
}

// AckISR clears the reasons in mask (the virtio-mmio InterruptACK).
func (c *Core) AckISR(mask uint8) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.isr &^= mask
}

// SetStatus handles a driver write of device_status: 0 resets,
// FEATURES_OK is refused for features the device does not offer (or
// without VERSION_1), and DRIVER_OK activates the device with the ready
// queues and the transport's interrupts. It calls into the device, whose
// goroutines interrupt through the transport: call it holding no lock.
// Status writes from several vCPUs are carried out one at a time.
func (c *Core) SetStatus(s uint8, irq Interrupts) {
	c.status.Lock()
	defer c.status.Unlock()
	if s == 0 {
		c.dev.Reset()
		c.mu.Lock()
		c.deviceStatus, c.drvFeatures, c.isr, c.active, c.failure, c.live = 0, 0, 0, false, nil, nil
		c.generation++
		for i := range c.queues {
			c.queues[i] = queueConfig{max: c.queues[i].max, vector: NoVector, q: queue.Queue{Size: c.queues[i].max}}
		}
		c.mu.Unlock()
		if c.onReset != nil {
			c.onReset()
		}
		return
	}
	c.mu.Lock()
	if s&StatusFeaturesOK != 0 && c.deviceStatus&StatusFeaturesOK == 0 {
		if c.drvFeatures&^c.dev.Features() != 0 || c.drvFeatures&FeatureVersion1 == 0 {
			s &^= StatusFeaturesOK // the driver reads it back and gives up
		}
	}
	c.deviceStatus = s | c.deviceStatus&StatusNeedsReset
	activate := s&StatusDriverOK != 0 && s&StatusFeaturesOK != 0 && !c.active
	var queues []*queue.Queue
	var err error
	if activate {
		c.active = true
		queues, err = c.readyQueuesLocked()
		c.live, c.irq = queues, irq
	}
	features := c.drvFeatures
	c.mu.Unlock()
	if activate && err == nil {
		err = c.dev.Activate(c.mem, features, queues, irq)
	}
	if err != nil {
		// The device gives up: NEEDS_RESET and a configuration interrupt
		// tell the driver, Failure tells vmm.
		c.NoteFailure(fmt.Errorf("activation: %w", err))
		irq.Config()
	}
}

// NoteFailure records why the device stopped working (the first reason
// counts) and marks NEEDS_RESET.
func (c *Core) NoteFailure(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.noteFailureLocked(err)
}

func (c *Core) noteFailureLocked(err error) {
	if c.failure == nil {
		c.failure = err
	}
	if c.firstFailure == nil {
		c.firstFailure = err
	}
	c.deviceStatus |= StatusNeedsReset
}

// Failure reports why the device stopped working, if it ever did: the
// transport's reason or the device's own (a malformed ring). vmm reports
// it when the run ends.
func (c *Core) Failure() error {
	c.mu.Lock()
	failure := c.firstFailure
	c.mu.Unlock()
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
	for i := range c.queues {
		q := &c.queues[i]
		if !q.ready {
			return nil, fmt.Errorf("queue %d not enabled", i)
		}
		if err := q.q.Check(); err != nil {
			return nil, fmt.Errorf("queue %d: %w", i, err)
		}
		own := q.q
		qs = append(qs, &own)
	}
	return qs, nil
}

// Notify passes a driver notification of queue i to an active device.
func (c *Core) Notify(i int) {
	c.mu.Lock()
	active := c.active && i >= 0 && i < len(c.queues)
	c.mu.Unlock()
	if active {
		c.dev.Notify(i)
	}
}

// Raise records an interrupt reason (ISR bit 0 for a queue, bit 1 for
// config) and, for a config interrupt, marks NEEDS_RESET if the device
// failed and bumps the generation. It returns the ISR after the change;
// the transport then delivers the interrupt.
func (c *Core) Raise(config bool) uint8 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !config {
		c.isr |= 1
		return c.isr
	}
	if err := c.dev.Failed(); err != nil {
		c.noteFailureLocked(err) // NEEDS_RESET, and vmm reports it at the end
	}
	if c.failure != nil {
		c.deviceStatus |= StatusNeedsReset
	}
	c.isr |= 2
	c.generation++
	return c.isr
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
