package netdev

import (
	"encoding/binary"
	"testing"

	"github.com/vmmlab/vmm/devices/virtio/queue/queuetest"
)

type noIRQ struct{}

func (noIRQ) Queue(int) error { return nil }
func (noIRQ) Config() error   { return nil }

// FuzzQueues fills both queues' descriptor tables and available rings
// with arbitrary bytes and runs the transmit path and the receive path
// over them: whatever the guest wrote, they return (an error or not)
// without panicking, and the headers they pass on are the guest's bytes.
func FuzzQueues(f *testing.F) {
	good := make([]byte, 0x100)
	binary.LittleEndian.PutUint64(good[0:], 0x300000) // desc 0: 64 bytes at 0x300000
	binary.LittleEndian.PutUint32(good[8:], 64)
	f.Add(good, uint16(1), uint16(100), true)
	f.Add(good, uint16(1), uint16(20), false)
	binary.LittleEndian.PutUint16(good[12:], 1|2) // NEXT|WRITE, next = 0: a loop
	f.Add(good, uint16(3), uint16(1500), true)
	f.Fuzz(func(t *testing.T, ring []byte, avail uint16, frameLen uint16, mergeable bool) {
		drv := queuetest.NewSet(2, 16, 4<<20)
		for _, d := range drv {
			d.Mem.Write(d.Queue.DescTable, ring[:min(len(ring), 16*16)])
			var idx [2]byte
			binary.LittleEndian.PutUint16(idx[:], avail)
			d.Mem.Write(d.Queue.AvailRing+2, idx[:])
			if len(ring) > 16*16 {
				d.Mem.Write(d.Queue.AvailRing+4, ring[16*16:min(len(ring), 16*16+32)])
			}
		}
		b := newBackend()
		dev := &Device{backend: b, free: make(chan []byte, 1)}
		tx := &transmitter{d: dev, mem: drv[1].Mem, q: &drv[1].Queue, irq: noIRQ{}, buf: make([]byte, MaxFrame)}
		for range 3 {
			if tx.drain() != nil {
				break
			}
		}
		for len(b.out) > 0 {
			if fr := <-b.out; len(fr) < HeaderSize || len(fr) > MaxFrame {
				t.Fatalf("backend got a %d-byte frame", len(fr))
			}
		}
		rx := &receiver{d: dev, mem: drv[0].Mem, q: &drv[0].Queue, irq: noIRQ{}, mergeable: mergeable}
		frame := make([]byte, HeaderSize+int(frameLen))
		for range 3 {
			if done, err := rx.deliver(frame); err != nil || !done {
				break
			}
		}
	})
}
