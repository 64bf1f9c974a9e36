package virtiopci

import "fmt"

// interrupts is what the device calls to interrupt the driver: Core
// records the reason, then the transport delivers it under its own lock.
type interrupts struct{ t *Transport }

func (i interrupts) Queue(n int) error {
	t := i.t
	if n < 0 || n >= t.core.NumQueues() {
		return fmt.Errorf("interrupt for queue %d of %d", n, t.core.NumQueues())
	}
	t.core.Raise(false)
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.signalLocked(t.core.QueueVector(n))
}

func (i interrupts) Config() error {
	t := i.t
	t.core.Raise(true)
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.signalLocked(t.configVector)
}

// signalLocked sends MSI-X vector v, or marks it pending while masked.
// Without MSI-X enabled it sets INTx from the ISR, if the transport has
// INTx. Call with t.mu held.
func (t *Transport) signalLocked(v uint16) error {
	enabled, fnMasked := t.msixControl()
	if !enabled {
		return t.updateINTxLocked()
	}
	if v == noVector || int(v) >= len(t.table) {
		return nil
	}
	e := &t.table[v]
	if e.masked || fnMasked {
		e.pending = true
		return nil
	}
	if err := t.msi.SignalMSI(e.addr, e.data); err != nil {
		t.core.NoteFailure(fmt.Errorf("MSI-X vector %d: %w", v, err))
		return err
	}
	return nil
}

// deliverPendingLocked sends interrupts that were held back by a mask that
// the driver has now cleared. Call with t.mu held.
func (t *Transport) deliverPendingLocked() {
	enabled, fnMasked := t.msixControl()
	if !enabled || fnMasked {
		return
	}
	for i := range t.table {
		if e := &t.table[i]; e.pending && !e.masked {
			e.pending = false
			if err := t.msi.SignalMSI(e.addr, e.data); err != nil {
				t.core.NoteFailure(fmt.Errorf("MSI-X vector %d: %w", i, err))
			}
		}
	}
}

// updateINTxLocked drives the INTx line from the ISR as it is now: high
// while a reason is pending and MSI-X is off (and the driver has not
// disabled INTx in the command register). Every change of the line reads
// the ISR afresh under t.mu, so a raise and an ISR read that race each
// other leave the line matching the ISR. Call with t.mu held.
func (t *Transport) updateINTxLocked() error {
	if t.intx == nil {
		return nil
	}
	enabled, _ := t.msixControl()
	high := !enabled && t.core.ISR() != 0 && !t.cfg.INTxDisabled()
	if high == t.intxHigh {
		return nil
	}
	t.intxHigh = high
	return t.intx.SetLevel(high)
}
