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
// Without MSI-X enabled it raises INTx, if the transport has it.
func (t *Transport) signalLocked(v uint16) error {
	enabled, fnMasked := t.msixControl()
	if !enabled {
		return t.setINTxLocked(t.core.ISR != 0)
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
		t.core.NoteFailureLocked(fmt.Errorf("MSI-X vector %d: %w", v, err))
		return err
	}
	return nil
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
			if err := t.msi.SignalMSI(e.addr, e.data); err != nil {
				t.core.NoteFailureLocked(fmt.Errorf("MSI-X vector %d: %w", i, err))
			}
		}
	}
}

// setINTxLocked drives the INTx line (unless the driver disabled INTx in
// the command register, which also lowers it).
func (t *Transport) setINTxLocked(high bool) error {
	if t.intx == nil {
		return nil
	}
	high = high && !t.cfg.INTxDisabled()
	if high == t.intxHigh {
		return nil
	}
	t.intxHigh = high
	return t.intx.SetLevel(high)
}
