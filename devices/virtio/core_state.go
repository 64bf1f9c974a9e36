package virtio

import (
	"fmt"

	"github.com/vmmlab/vmm/devices/virtio/queue"
)

// QueueState is one queue in a snapshot: the driver's settings and, for
// a live device, where the device is in the rings.
type QueueState struct {
	Size               uint16
	Desc, Avail, Used  uint64
	Ready              bool
	Vector             uint16
	Position           queue.Position
	DeviceHasPositions bool `json:",omitempty"` // Position is the device's (the device was live)
}

// CoreState is a transport's device-independent state in a snapshot.
type CoreState struct {
	DevFeatSel, DrvFeatSel uint32
	DrvFeatures            uint64
	Status, Generation     uint8
	QueueSel               uint32
	ISR                    uint8
	Active                 bool
	Queues                 []QueueState
}

// stopper is a device whose goroutines can be stopped without a reset
// (every device that embeds Workers).
type stopper interface{ Stop() }

// Quiesce stops the device's goroutines, so that neither the rings nor
// guest memory change under a snapshot; Restart starts them again. A
// request the device was serving is finished first (its goroutine ends
// between chains).
func (c *Core) Quiesce() {
	c.status.Lock() // no activation or reset meanwhile
	defer c.status.Unlock()
	if s, ok := c.dev.(stopper); ok && locked(c, func() bool { return c.active }) {
		s.Stop()
	}
}

// Restart hands a quiesced live device its queues again, positions and
// all, with a kick each: it goes on where it stopped.
func (c *Core) Restart() error {
	c.status.Lock()
	defer c.status.Unlock()
	c.mu.Lock()
	active, live, irq, features := c.active, c.live, c.irq, c.drvFeatures
	c.mu.Unlock()
	if !active || live == nil {
		return nil
	}
	return c.dev.Activate(c.mem, features, live, irq)
}

// State reads the transport's state; call it between Quiesce and Restart.
func (c *Core) State() CoreState {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := CoreState{DevFeatSel: c.devFeatSel, DrvFeatSel: c.drvFeatSel, DrvFeatures: c.drvFeatures, Status: c.deviceStatus,
		Generation: c.generation, QueueSel: c.queueSel, ISR: c.isr, Active: c.active}
	for i, q := range c.queues {
		qs := QueueState{Size: q.q.Size, Desc: q.q.DescTable, Avail: q.q.AvailRing, Used: q.q.UsedRing, Ready: q.ready, Vector: q.vector}
		if c.active && i < len(c.live) {
			qs.Position, qs.DeviceHasPositions = c.live[i].Position(), true
		}
		s.Queues = append(s.Queues, qs)
	}
	return s
}

// Restore puts a snapshot's state into a fresh transport and, if the
// device was live, activates it with irq and the saved ring positions.
// The state is checked against the device (queue count and sizes,
// features it offers); a mismatch is an error and nothing starts.
func (c *Core) Restore(s CoreState, irq Interrupts) error {
	if len(s.Queues) != len(c.queues) {
		return fmt.Errorf("snapshot has %d queues, the device %d", len(s.Queues), len(c.queues))
	}
	if s.DrvFeatures&^c.dev.Features() != 0 {
		return fmt.Errorf("snapshot's features %#x are not all offered (%#x)", s.DrvFeatures, c.dev.Features())
	}
	c.status.Lock()
	defer c.status.Unlock()
	c.mu.Lock()
	var queues []*queue.Queue
	for i, qs := range s.Queues {
		q := &c.queues[i]
		if qs.Size > q.max {
			c.mu.Unlock()
			return fmt.Errorf("queue %d: size %d above the device's %d", i, qs.Size, q.max)
		}
		q.q = queue.Queue{Size: qs.Size, DescTable: qs.Desc, AvailRing: qs.Avail, UsedRing: qs.Used}
		q.ready, q.vector = qs.Ready, qs.Vector
		if s.Active {
			if err := q.q.Check(); err != nil || !qs.Ready {
				c.mu.Unlock()
				return fmt.Errorf("queue %d of a live device: ready %v, %v", i, qs.Ready, err)
			}
			own := q.q
			own.SetPosition(qs.Position)
			queues = append(queues, &own)
		}
	}
	c.devFeatSel, c.drvFeatSel, c.drvFeatures = s.DevFeatSel, s.DrvFeatSel, s.DrvFeatures
	c.deviceStatus, c.generation, c.queueSel, c.isr, c.active = s.Status, s.Generation, s.QueueSel, s.ISR, s.Active
	if s.Active {
		c.live, c.irq = queues, irq
	}
	c.mu.Unlock()
	if !s.Active {
		return nil
	}
	return c.dev.Activate(c.mem, s.DrvFeatures, queues, irq)
}
