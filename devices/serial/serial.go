// Package serial owns the 16550A UART model used as the guest console:
// interrupt-driven transmit and receive, loopback for the driver's probe
// (a 16-byte FIFO that overruns, as the chip's does), a bounded receive
// buffer that makes the input side wait rather than drop bytes, and
// Output, which carries transmitted bytes to the host without ever
// blocking the vCPU.
package serial

import (
	"io"
	"sync"
)

// Register offsets from the port base.
const (
	regData = 0 // RBR/THR, or DLL with DLAB
	regIER  = 1 // or DLM with DLAB
	regIIR  = 2 // read: IIR; write: FCR
	regLCR  = 3
	regMCR  = 4
	regLSR  = 5
	regMSR  = 6
	regSCR  = 7

	ierRDA  = 1 << 0 // received data available
	ierTHRE = 1 << 1 // transmitter holding register empty

	iirNone = 0x01
	iirTHRE = 0x02
	iirRDA  = 0x04
	iirFIFO = 0xc0

	lcrDLAB  = 1 << 7
	mcrLoop  = 1 << 4
	lsrDR    = 1 << 0
	lsrOE    = 1 << 1 // overrun: a byte was lost
	lsrTHRE  = 1 << 5
	lsrTEMT  = 1 << 6
	msrIdle  = 0xb0 // DCD, DSR, CTS
	rxBuffer = 4096
	loopFIFO = 16 // the 16550A's receive FIFO, all that loopback can hold
)

// Interrupt raises the UART's interrupt line (an edge).
type Interrupt interface {
	Trigger() error
}

// UART is one 16550A. Its methods are safe for concurrent use by vCPUs and
// the goroutine that feeds input.
type UART struct {
	mu   sync.Mutex
	cond *sync.Cond
	out  io.Writer
	irq  Interrupt

	ier, lcr, mcr, scr, dll, dlm, fcr byte
	rx                                []byte
	threPending                       bool
	overrun                           bool
	closed                            bool
	outErr                            error
}

// New makes a UART that writes what the guest sends to out and signals irq.
func New(out io.Writer, irq Interrupt) *UART {
	u := &UART{out: out, irq: irq, dll: 12, mcr: 0x08}
	u.cond = sync.NewCond(&u.mu)
	return u
}

// Read handles a guest read of the register at offset.
func (u *UART) Read(offset uint64, data []byte) {
	u.mu.Lock()
	v := u.read(offset)
	u.mu.Unlock()
	clear(data)
	if len(data) > 0 {
		data[0] = v
	}
}

func (u *UART) read(offset uint64) byte {
	switch offset {
	case regData:
		if u.lcr&lcrDLAB != 0 {
			return u.dll
		}
		if len(u.rx) == 0 {
			return 0
		}
		b := u.rx[0]
		u.rx = u.rx[1:]
		if len(u.rx) < rxBuffer/2 {
			u.cond.Broadcast()
		}
		return b
	case regIER:
		if u.lcr&lcrDLAB != 0 {
			return u.dlm
		}
		return u.ier
	case regIIR:
		iir := byte(iirNone)
		switch {
		case u.ier&ierRDA != 0 && len(u.rx) > 0:
			iir = iirRDA
		case u.ier&ierTHRE != 0 && u.threPending:
			iir = iirTHRE
			u.threPending = false // reading IIR acknowledges THRE
		}
		if u.fcr&1 != 0 {
			iir |= iirFIFO
		}
		return iir
	case regLCR:
		return u.lcr
	case regMCR:
		return u.mcr
	case regLSR:
		lsr := byte(lsrTHRE | lsrTEMT)
		if len(u.rx) > 0 {
			lsr |= lsrDR
		}
		if u.overrun {
			lsr |= lsrOE // reading LSR clears it
			u.overrun = false
		}
		return lsr
	case regMSR:
		if u.mcr&mcrLoop != 0 {
			// Loopback: DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD.
			m := u.mcr
			return (m&1)<<5 | (m&2)<<3 | (m&4)<<4 | (m&8)<<4
		}
		return msrIdle
	case regSCR:
		return u.scr
	}
	return 0
}

// Write handles a guest write to the register at offset.
func (u *UART) Write(offset uint64, data []byte) {
	if len(data) == 0 {
		return
	}
	v := data[0]
	u.mu.Lock()
	raise := u.write(offset, v)
	u.mu.Unlock()
	if raise {
		u.irq.Trigger()
	}
}

// write returns whether an interrupt became pending.
func (u *UART) write(offset uint64, v byte) bool {
	switch offset {
	case regData:
		if u.lcr&lcrDLAB != 0 {
			u.dll = v
			return false
		}
		if u.mcr&mcrLoop != 0 {
			if len(u.rx) >= loopFIFO {
				u.overrun = true // the byte is lost, as on the chip
				return false
			}
			u.rx = append(u.rx, v)
			return u.ier&ierRDA != 0
		}
		if u.outErr == nil {
			_, u.outErr = u.out.Write([]byte{v})
		}
		// Sent at once: the holding register is empty again. The THRE
		// interrupt is raised once until the driver acknowledges it (reads
		// IIR), as the chip raises one per emptied FIFO, not one per byte:
		// Linux's handler writes up to 16 bytes per interrupt, and an edge
		// for each of them made a burst of console output a burst of
		// interrupts (guests crashed in such bursts in the nested lab).
		raise := !u.threPending && u.ier&ierTHRE != 0
		u.threPending = true
		return raise
	case regIER:
		if u.lcr&lcrDLAB != 0 {
			u.dlm = v
			return false
		}
		old := u.ier
		u.ier = v & 0x0f
		if u.ier&ierTHRE != 0 && old&ierTHRE == 0 {
			u.threPending = true
		}
		u.cond.Broadcast() // the driver may listen now: input may flow
		return u.ier&ierTHRE != 0 && u.threPending || u.ier&ierRDA != 0 && len(u.rx) > 0
	case regIIR:
		u.fcr = v
		// Clearing the receive FIFO drops loopback bytes, but not host
		// input: vmm holds that until the guest takes it, as if it were
		// still on the wire. Linux clears the FIFOs when it opens the
		// port, which threw away the first lines of a piped script.
		if v&0x02 != 0 && u.mcr&mcrLoop != 0 {
			u.rx = nil
			u.cond.Broadcast()
		}
	case regLCR:
		u.lcr = v
	case regMCR:
		u.mcr = v & 0x1f
		u.cond.Broadcast() // DTR may have come up
	case regSCR:
		u.scr = v
	}
	return false
}

// Input queues bytes for the guest to read. It waits until the guest
// listens (receive interrupts on, not in loopback), as a sender waits for
// a modem's ready line, and while the guest has more than the receive
// buffer unread; the guest resetting its FIFOs does not discard it. (A
// driver still reads and drops what is in the receiver while it starts
// up: vmm holds piped input until the guest has booted, see cmd/vmm.) It also waits while the guest has more than the receive
// buffer unread. It returns io.ErrClosedPipe after Close. It is meant for
// one input goroutine.
func (u *UART) Input(p []byte) error {
	for len(p) > 0 {
		u.mu.Lock()
		for (len(u.rx) >= rxBuffer || !u.listening()) && !u.closed {
			u.cond.Wait()
		}
		if u.closed {
			u.mu.Unlock()
			return io.ErrClosedPipe
		}
		n := min(len(p), rxBuffer-len(u.rx))
		u.rx = append(u.rx, p[:n]...)
		p = p[n:]
		raise := u.ier&ierRDA != 0
		u.mu.Unlock()
		if raise {
			if err := u.irq.Trigger(); err != nil {
				return err
			}
		}
	}
	return nil
}

// listening reports whether the guest takes input: receive interrupts
// enabled, not in loopback.
func (u *UART) listening() bool {
	return u.ier&ierRDA != 0 && u.mcr&mcrLoop == 0
}

// Close wakes a waiting Input and makes further input fail.
func (u *UART) Close() {
	u.mu.Lock()
	u.closed = true
	u.cond.Broadcast()
	u.mu.Unlock()
}

// OutputError reports the first error writing guest output, if any.
func (u *UART) OutputError() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.outErr
}

// State is the UART's registers and unread input, for a snapshot.
type State struct {
	IER, LCR, MCR, SCR, DLL, DLM, FCR byte
	RX                                []byte
	THREPending, Overrun              bool
}

// State reads the UART's state.
func (u *UART) State() State {
	u.mu.Lock()
	defer u.mu.Unlock()
	return State{IER: u.ier, LCR: u.lcr, MCR: u.mcr, SCR: u.scr, DLL: u.dll, DLM: u.dlm, FCR: u.fcr,
		RX: append([]byte(nil), u.rx...), THREPending: u.threPending, Overrun: u.overrun}
}

// Restore puts a snapshot's state back (input beyond the FIFO's size is
// dropped, as overrun input is).
func (u *UART) Restore(s State) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.ier, u.lcr, u.mcr, u.scr, u.dll, u.dlm, u.fcr = s.IER, s.LCR, s.MCR, s.SCR, s.DLL, s.DLM, s.FCR
	u.rx = append([]byte(nil), s.RX[:min(len(s.RX), rxBuffer)]...)
	u.threPending, u.overrun = s.THREPending, s.Overrun
	u.cond.Broadcast()
}
