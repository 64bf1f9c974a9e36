package virtiopci

import (
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"github.com/vmmlab/vmm/devices/virtio"
	"github.com/vmmlab/vmm/devices/virtio/blk/blktest"
	"github.com/vmmlab/vmm/devices/virtio/queue/queuetest"
)

type msiRecorder chan [2]uint64

func (m msiRecorder) SignalMSI(addr uint64, data uint32) error {
	m <- [2]uint64{addr, uint64(data)}
	return nil
}

func w(t *Transport, off uint64, v uint64, n int) {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(v >> (8 * i))
	}
	t.Write(off, b)
}

func r(t *Transport, off uint64, n int) uint64 {
	b := make([]byte, n)
	t.Read(off, b)
	var v uint64
	for i := n - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}

func cfg32(t *Transport, off uint64) uint32 {
	b := make([]byte, 4)
	t.ReadConfig(off, b)
	return binary.LittleEndian.Uint32(b)
}

// newBlk makes a virtio-blk transport over blktest's disk.
func newBlk(tt *testing.T, drv *queuetest.Driver, msi MSISender) *Transport {
	tt.Helper()
	return New(blktest.Disk(tt), drv.Mem, msi, 0xc000_0000)
}

// TestDriverSequence does what Linux's virtio_pci does to bring up a
// device, then reads a sector through it.
func TestDriverSequence(tt *testing.T) {
	drv := queuetest.New(16, 1<<20)
	msi := msiRecorder(make(chan [2]uint64, 4))
	t := newBlk(tt, drv, msi)

	if cfg32(t, 0) != 0x10421af4 || cfg32(t, 0x10) != 0xc0000004 {
		tt.Fatalf("IDs %#x BAR0 %#x", cfg32(t, 0), cfg32(t, 0x10))
	}
	// Walk the capabilities: four virtio structures and MSI-X.
	types := map[byte]uint32{}
	msix := uint64(0)
	for off := uint64(cfg32(t, 0x34) & 0xff); off != 0; {
		c := make([]byte, 16)
		t.ReadConfig(off, c)
		if c[0] == 0x09 {
			types[c[3]] = binary.LittleEndian.Uint32(c[8:])
		} else if c[0] == 0x11 {
			msix = off
		}
		off = uint64(c[1])
	}
	if types[1] != offCommon || types[2] != offNotify || types[3] != offISR || types[4] != offDevice || msix == 0 {
		tt.Fatalf("capabilities %v msix %#x", types, msix)
	}

	w(t, 0x14, virtio.StatusAcknowledge|virtio.StatusDriver, 1)
	w(t, 0x00, 1, 4)
	if r(t, 0x04, 4)&1 == 0 { // VERSION_1 is bit 32
		tt.Fatal("device does not offer VERSION_1")
	}
	// An unknown feature bit makes FEATURES_OK fail ...
	w(t, 0x08, 0, 4)
	w(t, 0x0c, 1<<31, 4)
	w(t, 0x08, 1, 4)
	w(t, 0x0c, 1, 4)
	w(t, 0x14, virtio.StatusAcknowledge|virtio.StatusDriver|virtio.StatusFeaturesOK, 1)
	if r(t, 0x14, 1)&virtio.StatusFeaturesOK != 0 {
		tt.Fatal("FEATURES_OK accepted for a feature the device does not offer")
	}
	w(t, 0x14, 0, 1) // reset and start again
	w(t, 0x14, virtio.StatusAcknowledge|virtio.StatusDriver, 1)
	w(t, 0x08, 0, 4)
	w(t, 0x0c, 0, 4)
	w(t, 0x08, 1, 4)
	w(t, 0x0c, 1, 4) // VERSION_1 only
	w(t, 0x14, virtio.StatusAcknowledge|virtio.StatusDriver|virtio.StatusFeaturesOK, 1)
	if r(t, 0x14, 1)&virtio.StatusFeaturesOK == 0 {
		tt.Fatal("FEATURES_OK refused")
	}

	// MSI-X: enable, program vector 0 for the queue, leave it masked first.
	t.WriteConfig(msix+2, []byte{0, 0x80})
	w(t, offMSIXTable+0, 0xfee00000, 4)
	w(t, offMSIXTable+8, 0x41, 4)
	if r(t, 0x12, 2) != 1 {
		tt.Fatalf("num_queues %d", r(t, 0x12, 2))
	}
	w(t, 0x16, 0, 2)
	if r(t, 0x18, 2) != 256 {
		tt.Fatalf("queue max %d", r(t, 0x18, 2))
	}
	w(t, 0x18, 16, 2)
	w(t, 0x1a, 0, 2)
	q := drv.Queue
	w(t, 0x20, q.DescTable, 4)
	w(t, 0x24, q.DescTable>>32, 4)
	w(t, 0x28, q.AvailRing, 4)
	w(t, 0x30, q.UsedRing, 4)
	w(t, 0x1c, 1, 2)
	w(t, 0x14, virtio.StatusAcknowledge|virtio.StatusDriver|virtio.StatusFeaturesOK|virtio.StatusDriverOK, 1)
	if r(t, 0x14, 1)&virtio.StatusNeedsReset != 0 {
		tt.Fatal("activation failed")
	}

	hdr := make([]byte, 16)
	binary.LittleEndian.PutUint64(hdr[8:], 1) // read sector 1
	head, bufs := drv.Add([][]byte{hdr}, []uint32{512, 1})
	w(t, offNotify+0, 0, 2)
	// Wait for the interrupt (pending, as the vector is masked): the device
	// raises it under the transport's lock after publishing the used
	// element, so reading the ring afterwards is ordered after that write.
	deadline := time.After(10 * time.Second)
	for r(t, offMSIXPBA, 8)&1 == 0 {
		select {
		case <-deadline:
			tt.Fatal("request never completed")
		case <-time.After(5 * time.Millisecond):
		}
	}
	if h, _, ok := drv.Used(); !ok || h != head {
		tt.Fatalf("used %d %v", h, ok)
	}
	if drv.Bytes(bufs[1])[0] != 0xab || drv.Bytes(bufs[2])[0] != 0 {
		tt.Fatalf("read data %#x status %d", drv.Bytes(bufs[1])[0], drv.Bytes(bufs[2])[0])
	}
	// The vector was masked: the interrupt is pending, and unmasking sends it.
	select {
	case m := <-msi:
		tt.Fatalf("MSI %v sent while masked", m)
	case <-time.After(50 * time.Millisecond):
	}
	w(t, offMSIXTable+12, 0, 4)
	select {
	case m := <-msi:
		if m[0] != 0xfee00000 || m[1] != 0x41 {
			tt.Fatalf("MSI %v", m)
		}
	case <-time.After(5 * time.Second):
		tt.Fatal("no MSI after unmasking")
	}
	if isr := r(t, offISR, 1); isr&1 == 0 || r(t, offISR, 1) != 0 {
		tt.Fatalf("ISR %d, then not cleared", isr)
	}
	w(t, 0x14, 0, 1)
	if r(t, 0x14, 1) != 0 {
		tt.Fatal("reset did not clear the status")
	}
}

// Accesses anywhere in BAR0 and configuration space, of any size, never
// panic.
func FuzzTransport(f *testing.F) {
	f.Add(uint16(0x14), uint8(1), uint64(0xf))
	f.Fuzz(func(tt *testing.T, off uint16, n uint8, v uint64) {
		drv := queuetest.New(16, 1<<20)
		t := newBlk(tt, drv, msiRecorder(make(chan [2]uint64, 100)))
		size := int(n%8) + 1
		w(t, uint64(off)%BARSize, v, size)
		r(t, uint64(off)%BARSize, size)
		t.WriteConfig(uint64(off%300), make([]byte, size))
		t.ReadConfig(uint64(off%300), make([]byte, size))
		w(t, 0x14, 0, 1)
	})
}

func TestDoorbells(tt *testing.T) {
	drv := queuetest.New(16, 1<<20)
	t := newBlk(tt, drv, msiRecorder(make(chan [2]uint64, 4)))
	d := t.Doorbells(0xc000_0000)
	if len(d) != 1 || d[0].Addr != 0xc000_3000 || d[0].Len != 2 || d[0].Match != nil || d[0].Queue != 0 {
		tt.Errorf("doorbells %+v", d)
	}
}

type lineRecorder chan bool

func (l lineRecorder) SetLevel(high bool) error { l <- high; return nil }

// activate brings the device up with VERSION_1 and queue 0 on drv.
func activate(tt *testing.T, t *Transport, drv *queuetest.Driver) {
	tt.Helper()
	w(t, 0x14, virtio.StatusAcknowledge|virtio.StatusDriver, 1)
	w(t, 0x08, 1, 4)
	w(t, 0x0c, 1, 4)
	w(t, 0x14, virtio.StatusAcknowledge|virtio.StatusDriver|virtio.StatusFeaturesOK, 1)
	w(t, 0x16, 0, 2)
	w(t, 0x18, 16, 2)
	q := drv.Queue
	w(t, 0x20, q.DescTable, 8)
	w(t, 0x28, q.AvailRing, 8)
	w(t, 0x30, q.UsedRing, 8)
	w(t, 0x1c, 1, 2)
	w(t, 0x14, virtio.StatusAcknowledge|virtio.StatusDriver|virtio.StatusFeaturesOK|virtio.StatusDriverOK, 1)
	if r(t, 0x14, 1)&virtio.StatusNeedsReset != 0 {
		tt.Fatal("activation failed")
	}
}

// Without MSI-X the device raises INTx, which stays high until the driver
// reads the ISR; with the command register's interrupt-disable bit set it
// stays low.
func TestINTx(tt *testing.T) {
	drv := queuetest.New(16, 1<<20)
	t := newBlk(tt, drv, msiRecorder(make(chan [2]uint64, 4)))
	line := lineRecorder(make(chan bool, 4))
	t.SetINTx(line, 10)
	if cfg32(t, 0x3c)&0xffff != 0x010a {
		tt.Fatalf("interrupt line/pin %#x, want line 10, pin INTA", cfg32(t, 0x3c)&0xffff)
	}
	activate(tt, t, drv)
	hdr := make([]byte, 16)
	requestAndRaise(tt, t, drv, line)
	if isr := r(t, offISR, 1); isr != 1 {
		tt.Fatalf("ISR %d", isr)
	}
	if high := <-line; high {
		tt.Fatal("reading the ISR did not lower the line")
	}

	t.WriteConfig(0x04, []byte{0x06, 0x04}) // memory, bus master, INTx disable
	drv.Add([][]byte{hdr}, []uint32{512, 1})
	w(t, offNotify, 0, 2)
	deadline := time.Now().Add(10 * time.Second)
	for r(t, 0x14, 1) != 0 && time.Now().Before(deadline) {
		if _, _, ok := drv.Used(); ok {
			break
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case <-line:
		tt.Fatal("INTx raised while disabled")
	case <-time.After(50 * time.Millisecond):
	}
}

// Defect: a device reset left its INTx line high (the ISR was cleared,
// the line was not), so a shared line stayed asserted.
func TestResetLowersINTx(tt *testing.T) {
	drv := queuetest.New(16, 1<<20)
	t := newBlk(tt, drv, msiRecorder(make(chan [2]uint64, 4)))
	line := lineRecorder(make(chan bool, 4))
	t.SetINTx(line, 10)
	activate(tt, t, drv)
	requestAndRaise(tt, t, drv, line)
	w(t, 0x14, 0, 1) // reset, without reading the ISR
	select {
	case high := <-line:
		if high {
			tt.Fatal("the line was raised again")
		}
	case <-time.After(2 * time.Second):
		tt.Fatal("the reset left INTx high")
	}
}

// requestAndRaise makes one read request available, notifies the device
// and waits for INTx to go high.
func requestAndRaise(tt *testing.T, t *Transport, drv *queuetest.Driver, line lineRecorder) {
	tt.Helper()
	drv.Add([][]byte{make([]byte, 16)}, []uint32{512, 1})
	w(t, offNotify, 0, 2)
	select {
	case high := <-line:
		if !high {
			tt.Fatal("line went low first")
		}
	case <-time.After(10 * time.Second):
		tt.Fatal("INTx never raised")
	}
}

// levelLine keeps the last level it was set to.
type levelLine struct {
	mu   sync.Mutex
	high bool
}

func (l *levelLine) SetLevel(high bool) error {
	l.mu.Lock()
	l.high = high
	l.mu.Unlock()
	return nil
}

// The core and the transport have locks of their own now: a device
// raising its interrupt while a vCPU reads (and so clears) the ISR must
// still leave INTx high exactly when the ISR holds a reason. Every change
// of the line reads the ISR afresh under the transport's lock.
func TestINTxFollowsISRUnderRaces(tt *testing.T) {
	drv := queuetest.New(16, 1<<20)
	t := newBlk(tt, drv, msiRecorder(make(chan [2]uint64, 4)))
	line := &levelLine{}
	t.SetINTx(line, 10)
	activate(tt, t, drv)
	irq := interrupts{t}
	for round := 0; round < 200; round++ {
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); irq.Queue(0) }()
		go func() { defer wg.Done(); r(t, offISR, 1) }()
		wg.Wait()
		line.mu.Lock()
		high := line.high
		line.mu.Unlock()
		if pending := t.core.ISR() != 0; high != pending {
			tt.Fatalf("round %d: INTx high %v with ISR pending %v", round, high, pending)
		}
		r(t, offISR, 1) // start the next round clear
	}
}
