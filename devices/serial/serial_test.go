package serial

import (
	"bytes"
	"sync/atomic"
	"testing"
	"time"
)

type counter struct{ n int }

func (c *counter) Trigger() error { c.n++; return nil }

func rd(u *UART, off uint64) byte {
	b := []byte{0}
	u.Read(off, b)
	return b[0]
}

func wr(u *UART, off uint64, v byte) { u.Write(off, []byte{v}) }

func TestTransmitInterrupt(t *testing.T) {
	var out bytes.Buffer
	irq := &counter{}
	u := New(&out, irq)
	wr(u, regData, 'h')
	if irq.n != 0 || out.String() != "h" {
		t.Fatalf("polled write: irq %d out %q", irq.n, out.String())
	}
	wr(u, regIER, ierTHRE) // enabling THRE with an empty THR raises at once
	if irq.n != 1 || rd(u, regIIR)&0x0f != iirTHRE || rd(u, regIIR)&0x0f != iirNone {
		t.Fatalf("THRE on enable: irq %d", irq.n)
	}
	wr(u, regData, 'i')
	if irq.n != 2 || out.String() != "hi" || rd(u, regLSR)&(lsrTHRE|lsrTEMT) != lsrTHRE|lsrTEMT {
		t.Fatalf("interrupt-driven write: irq %d out %q", irq.n, out.String())
	}
}

func TestReceive(t *testing.T) {
	irq := &counter{}
	u := New(&bytes.Buffer{}, irq)
	wr(u, regIER, ierRDA)
	if err := u.Input([]byte("ab")); err != nil {
		t.Fatal(err)
	}
	if irq.n != 1 || rd(u, regLSR)&lsrDR == 0 || rd(u, regIIR)&0x0f != iirRDA {
		t.Fatalf("rx interrupt: irq %d", irq.n)
	}
	if rd(u, regData) != 'a' || rd(u, regData) != 'b' || rd(u, regLSR)&lsrDR != 0 || rd(u, regIIR)&0x0f != iirNone {
		t.Fatal("rx data")
	}
}

func TestInputWaitsInsteadOfDropping(t *testing.T) {
	u := New(&bytes.Buffer{}, &counter{})
	wr(u, regIER, ierRDA)
	big := bytes.Repeat([]byte("x"), rxBuffer+10)
	done := make(chan error)
	go func() { done <- u.Input(big) }()
	select {
	case <-done:
		t.Fatal("Input returned with the buffer full")
	case <-time.After(50 * time.Millisecond):
	}
	n := 0
	for rd(u, regLSR)&lsrDR != 0 {
		rd(u, regData)
		n++
		if n == rxBuffer { // let the writer refill
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Input never resumed")
			}
		}
	}
	if n != len(big) {
		t.Fatalf("guest read %d bytes, want %d", n, len(big))
	}
	u.Close()
	if err := u.Input([]byte("z")); err == nil {
		t.Fatal("Input after Close succeeded")
	}
}

func TestLoopbackAndDivisor(t *testing.T) {
	u := New(&bytes.Buffer{}, &counter{})
	wr(u, regMCR, mcrLoop|0x0a) // what Linux's 8250 probe writes
	if got := rd(u, regMSR) & 0xf0; got != 0x90 {
		t.Fatalf("loopback MSR %#x, want 0x90", got)
	}
	wr(u, regData, 0x55)
	if rd(u, regData) != 0x55 {
		t.Fatal("loopback data")
	}
	wr(u, regLCR, lcrDLAB)
	wr(u, regData, 1)
	wr(u, regIER, 2)
	if rd(u, regData) != 1 || rd(u, regIER) != 2 {
		t.Fatal("divisor latch")
	}
}

func FuzzUART(f *testing.F) {
	f.Add([]byte{1, 2, 0, 'a', 3, 0x80, 0, 1})
	f.Fuzz(func(t *testing.T, ops []byte) {
		u := New(&bytes.Buffer{}, &counter{})
		for i := 0; i+1 < len(ops); i += 2 {
			off := uint64(ops[i] & 15)
			if ops[i]&0x80 != 0 {
				u.Write(off, ops[i+1:i+2])
			} else {
				u.Read(off, make([]byte, ops[i+1]%5))
			}
		}
	})
}

// Defect: input that arrived before the guest's driver was up sat in the
// receive buffer and was thrown away when the driver reset the FIFOs. It
// waits until the guest enables receive interrupts, and a FIFO reset does
// not discard it.
func TestInputWaitsForTheDriver(t *testing.T) {
	u := New(&bytes.Buffer{}, &safeIRQ{})
	done := make(chan error, 1)
	go func() { done <- u.Input([]byte("uname -r\r")) }()
	time.Sleep(20 * time.Millisecond)
	if rd(u, regLSR)&lsrDR != 0 {
		t.Fatal("data handed over before the guest enabled receive interrupts")
	}
	wr(u, regIER, ierRDA)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Input still waits after the guest enabled receive interrupts")
	}
	wr(u, regIIR, 0x07) // a FIFO reset
	var got []byte
	for rd(u, regLSR)&lsrDR != 0 {
		got = append(got, rd(u, regData))
	}
	if string(got) != "uname -r\r" {
		t.Fatalf("the guest read %q", got)
	}
	u.Close()
}

// safeIRQ counts interrupts from several goroutines.
type safeIRQ struct{ n atomic.Int32 }

func (s *safeIRQ) Trigger() error { s.n.Add(1); return nil }

// A UART restored from another's state reads the same registers and the
// same unread input.
func TestStateRoundTrip(t *testing.T) {
	u := New(&bytes.Buffer{}, &counter{})
	wr(u, regLCR, 0x83) // DLAB on: set the divisor
	wr(u, regData, 1)
	wr(u, regLCR, 0x03)
	wr(u, regIER, ierRDA)
	go u.Input([]byte("ab"))
	for deadline := time.Now().Add(5 * time.Second); rd(u, regLSR)&1 == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("input never arrived")
		}
	}
	s := u.State()
	v := New(&bytes.Buffer{}, &counter{})
	v.Restore(s)
	for _, off := range []uint64{regIER, regLCR, regMCR, regLSR} {
		if a, b := rd(u, off), rd(v, off); a != b {
			t.Errorf("register %d: %#x, restored %#x", off, a, b)
		}
	}
	if got := string([]byte{rd(v, regData), rd(v, regData)}); got != "ab" {
		t.Errorf("restored input %q, want ab", got)
	}
}
