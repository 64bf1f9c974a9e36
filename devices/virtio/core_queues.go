package virtio

// The driver's set-up of the queues, as Core keeps it.

// QueueSelect and SelectQueue access the queue selector.
func (c *Core) QueueSelect() uint32 { return locked(c, func() uint32 { return c.queueSel }) }

// SelectQueue: see QueueSelect.
func (c *Core) SelectQueue(v uint32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.queueSel = v
}

// selected is the queue the selector names, or nil. Call with the lock.
func (c *Core) selected() *queueConfig {
	if int64(c.queueSel) < int64(len(c.queues)) {
		return &c.queues[c.queueSel]
	}
	return nil
}

// Selected describes the selected queue: its maximum and current size,
// whether it is enabled and its MSI-X vector; ok is false when the
// selector names no queue.
func (c *Core) Selected() (max, size uint16, ready bool, vector uint16, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	q := c.selected()
	if q == nil {
		return 0, 0, false, NoVector, false
	}
	return q.max, q.q.Size, q.ready, q.vector, true
}

// A queue's configuration (size, ring addresses, enable) is fixed once the
// device is live: the spec forbids the driver to change it after
// DRIVER_OK, and a hostile one doing so (enable=0, size=0 while the device
// works on the queue) once crashed vmm. Such writes are ignored.

// SetQueueSize sets the selected queue's size while it is not ready and
// the device is not live; a size above the maximum is ignored.
func (c *Core) SetQueueSize(n uint16) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if q := c.selected(); q != nil && !q.ready && !c.active && n <= q.max {
		q.q.Size = n
	}
}

// SetQueueReady enables or disables the selected queue while the device
// is not live.
func (c *Core) SetQueueReady(ready bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if q := c.selected(); q != nil && !c.active {
		q.ready = ready
	}
}

// SetQueueVector sets the selected queue's MSI-X vector (PCI).
func (c *Core) SetQueueVector(v uint16) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if q := c.selected(); q != nil {
		q.vector = v
	}
}

// QueueVector is queue i's MSI-X vector (NoVector for no such queue).
func (c *Core) QueueVector(i int) uint16 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if i < 0 || i >= len(c.queues) {
		return NoVector
	}
	return c.queues[i].vector
}

// Ring addresses a transport sets in 32-bit halves.
const (
	RingDesc = iota
	RingAvail
	RingUsed
)

// SetQueueAddr sets half (0 low, 1 high) of ring's address of the
// selected queue while it is not ready and the device is not live.
func (c *Core) SetQueueAddr(ring, half int, v uint32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	q := c.selected()
	if q == nil || q.ready || c.active || ring < RingDesc || ring > RingUsed || half < 0 || half > 1 {
		return
	}
	ptr := [3]*uint64{&q.q.DescTable, &q.q.AvailRing, &q.q.UsedRing}[ring]
	sh := 32 * uint64(half)
	*ptr = *ptr&^(0xffffffff<<sh) | uint64(v)<<sh
}

// QueueAddr reads back half of ring's address of the selected queue.
func (c *Core) QueueAddr(ring, half int) uint32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	q := c.selected()
	if q == nil || ring < RingDesc || ring > RingUsed || half < 0 || half > 1 {
		return 0
	}
	return uint32([3]uint64{q.q.DescTable, q.q.AvailRing, q.q.UsedRing}[ring] >> (32 * half))
}
