package vsock

import (
	"runtime"
	"testing"
	"time"
)

// sendMany sends n packets made by mk, keeping at most 48 in the tx
// ring, and returns how many the device took; it stops early when the
// device takes none for 300 ms (it holds back, as it should when its
// replies cannot go out).
func (g *guest) sendMany(n int, mk func(i int) (header, []byte)) int {
	g.t.Helper()
	sent, taken := 0, 0
	idle := time.Now()
	for taken < n {
		// the window counts what earlier calls left in the ring too: a
		// device that stopped taking packets may still hold those
		for sent < n && g.tx.InFlight() < 48 {
			h, p := mk(sent)
			g.send(h, p)
			sent++
		}
		if _, _, ok := g.tx.Used(); ok {
			taken++
			idle = time.Now()
			continue
		}
		if err := g.d.Failed(); err != nil {
			g.t.Fatalf("device failed: %v", err)
		}
		if time.Since(idle) > 300*time.Millisecond {
			return taken
		}
		runtime.Gosched()
	}
	return taken
}

func (d *Device) queuedControl() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.control)
}

// A guest that posts no rx buffers and sends packet after packet that
// each need a reply does not make vmm queue a reply per packet: the
// device stops taking its packets once maxControl replies wait, and goes
// on when the guest gives it rx buffers.
func TestRepliesAreBounded(t *testing.T) {
	g := start(t, Config{})
	for range 8 { // the rx buffers start posted: let replies use them up
		g.send(header{Op: opRW, SrcPort: 1, DstPort: 2, Len: 1}, []byte{0})
		g.expect(opRst)
	}
	g.rx.Used() // nothing posted now
	const n = 20000
	rw := func(i int) (header, []byte) {
		return header{Op: opRW, SrcPort: uint32(i), DstPort: 7, Len: 1}, []byte{0}
	}
	taken := g.sendMany(n, rw)
	if q := g.d.queuedControl(); q > 2*queueSize+1 {
		t.Fatalf("%d replies queued after %d packets the guest sent with no rx buffer", q, taken)
	}
	if taken == n {
		t.Fatalf("the device took all %d packets with nowhere to reply", n)
	}
	for range 40 { // rx buffers again: the replies go out, the tx side goes on
		g.recv()
	}
	if more := g.sendMany(40, rw); more == 0 {
		t.Fatal("the device took no packet after the guest posted rx buffers")
	}
}

// A guest that spends its credit in 1-byte packets, to a host program
// that does not read, costs no more heap than the credit: the documented
// bound is the buffer size per connection, however the data is sliced.
func TestOneBytePacketsCostTheirBytes(t *testing.T) {
	const buf = 64 << 10
	g := start(t, Config{BufSize: buf})
	host := g.openPair(9)
	defer host.Close()
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	taken := g.sendMany(buf, func(i int) (header, []byte) {
		return header{Op: opRW, SrcPort: 9, DstPort: 5000 + 9, Len: 1, BufAlloc: guestBuf}, []byte{byte(i)}
	})
	if taken != buf {
		t.Fatalf("the device took %d of %d packets within the credit", taken, buf)
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 4*buf {
		t.Fatalf("%d bytes sent as 1-byte packets hold %d bytes of heap (want at most %d)", buf, grew, 4*buf)
	}
}
