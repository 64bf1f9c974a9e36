package virtiopci

import (
	"fmt"

	"github.com/vmmlab/vmm/devices/virtio"
	"github.com/vmmlab/vmm/devices/virtio/queue"
)

// setStatus handles a driver write of device_status: 0 resets, FEATURES_OK
// is refused for features the device does not offer (or without
// VERSION_1), and DRIVER_OK activates the device with the enabled queues.
// Device methods are called without t.mu held: the device's goroutine
// takes t.mu to raise interrupts.
func (t *Transport) setStatus(s uint8) {
	if s == 0 {
		t.dev.Reset()
		t.mu.Lock()
		t.status, t.drvFeatures, t.isr, t.active, t.configVector = 0, 0, 0, false, noVector
		t.generation++
		for i := range t.queues {
			t.queues[i] = queueState{max: t.queues[i].max, vector: noVector, q: queue.Queue{Size: t.queues[i].max}}
		}
		t.mu.Unlock()
		return
	}
	t.mu.Lock()
	if s&virtio.StatusFeaturesOK != 0 && t.status&virtio.StatusFeaturesOK == 0 {
		if t.drvFeatures&^t.dev.Features() != 0 || t.drvFeatures&virtio.FeatureVersion1 == 0 {
			s &^= virtio.StatusFeaturesOK // the driver reads it back and gives up
		}
	}
	t.status = s | t.status&virtio.StatusNeedsReset
	activate := s&virtio.StatusDriverOK != 0 && s&virtio.StatusFeaturesOK != 0 && !t.active
	var queues []*queue.Queue
	var err error
	if activate {
		t.active = true
		queues, err = t.enabledQueuesLocked()
	}
	features := t.drvFeatures
	t.mu.Unlock()
	if activate && err == nil {
		err = t.dev.Activate(t.mem, features, queues, interrupts{t})
	}
	if err != nil {
		t.mu.Lock()
		t.status |= virtio.StatusNeedsReset
		t.mu.Unlock()
	}
}

// enabledQueuesLocked checks and returns the queues the driver enabled; a
// device without all its queues enabled is not activated.
func (t *Transport) enabledQueuesLocked() ([]*queue.Queue, error) {
	var qs []*queue.Queue
	for i := range t.queues {
		q := &t.queues[i]
		if !q.enable {
			return nil, fmt.Errorf("queue %d not enabled", i)
		}
		if err := q.q.Check(); err != nil {
			return nil, fmt.Errorf("queue %d: %w", i, err)
		}
		qs = append(qs, &q.q)
	}
	return qs, nil
}

// interrupts is what the device calls to interrupt the driver.
type interrupts struct{ t *Transport }

func (i interrupts) Queue(n int) error {
	t := i.t
	t.mu.Lock()
	defer t.mu.Unlock()
	t.isr |= 1
	if n < 0 || n >= len(t.queues) {
		return fmt.Errorf("interrupt for queue %d of %d", n, len(t.queues))
	}
	return t.signalLocked(t.queues[n].vector)
}

func (i interrupts) Config() error {
	t := i.t
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.dev.Failed() != nil {
		t.status |= virtio.StatusNeedsReset
	}
	t.isr |= 2
	t.generation++
	return t.signalLocked(t.configVector)
}

// signalLocked sends MSI-X vector v, or marks it pending while masked.
// Without MSI-X enabled there is no interrupt line to raise (no INTx).
func (t *Transport) signalLocked(v uint16) error {
	enabled, fnMasked := t.msixControl()
	if !enabled || v == noVector || int(v) >= len(t.table) {
		return nil
	}
	e := &t.table[v]
	if e.masked || fnMasked {
		e.pending = true
		return nil
	}
	return t.msi.SignalMSI(e.addr, e.data)
}

// deliverPendingLocked sends interrupts that were held back by a mask that
// the driver has now cleared.
func (t *Transport) deliverPendingLocked() {
	enabled, fnMasked := t.msixControl()
	if !enabled || fnMasked {
		return
	}
	for i := range t.table {
		if e := &t.table[i]; e.pending && !e.masked {
			e.pending = false
			t.msi.SignalMSI(e.addr, e.data)
		}
	}
}
