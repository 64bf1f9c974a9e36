package netdev

import (
	"bytes"
	"testing"
	"time"

	"github.com/vmmlab/vmm/devices/virtio"
)

// BenchmarkTransmit sends one 1514-byte frame from the guest to the
// backend per iteration: ring, device goroutine, backend, interrupt.
func BenchmarkTransmit(b *testing.B) {
	r := start(b, virtio.FeatureVersion1)
	f := frame(string(bytes.Repeat([]byte("x"), 1514)), 0)
	b.SetBytes(int64(len(f)))
	for b.Loop() {
		r.tx.Add([][]byte{f}, nil)
		r.dev.Notify(txQueue)
		r.waitIRQ(b, txQueue)
		select {
		case <-r.backend.out:
		case <-time.After(10 * time.Second):
			b.Fatal("frame never reached the backend")
		}
		if _, _, ok := r.tx.Used(); !ok {
			b.Fatal("no used element")
		}
	}
}

// BenchmarkReceive delivers one 1514-byte frame from the backend into a
// guest buffer per iteration.
func BenchmarkReceive(b *testing.B) {
	r := start(b, virtio.FeatureVersion1|FeatureMrgRxbuf)
	f := frame(string(bytes.Repeat([]byte("y"), 1514)), 0)
	b.SetBytes(int64(len(f)))
	for b.Loop() {
		r.rx.Add(nil, []uint32{2048})
		r.dev.Notify(rxQueue)
		r.backend.in <- f
		r.waitIRQ(b, rxQueue)
		if _, _, ok := r.rx.Used(); !ok {
			b.Fatal("no used element")
		}
	}
}
