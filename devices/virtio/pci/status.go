package virtiopci

import "fmt"

// interrupts is what the device calls to interrupt the driver.
type interrupts struct{ t *Transport }

func (i interrupts) Queue(n int) error {
	t := i.t
	t.core.Lock()
	defer t.core.Unlock()
	if n < 0 || n >= len(t.core.Queues) {
		return fmt.Errorf("interrupt for queue %d of %d", n, len(t.core.Queues))
	}
	t.core.RaiseLocked(false)
	return t.signalLocked(t.core.Queues[n].Vector)
}

func (i interrupts) Config() error {
	t := i.t
	t.core.Lock()
	defer t.core.Unlock()
	t.core.RaiseLocked(true)
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
