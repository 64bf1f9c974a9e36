package blk

import (
	"testing"

	"github.com/vmmlab/vmm/devices/virtio/queue/queuetest"
)

// benchRequests serves the same request over and over on one queue.
func benchRequests(b *testing.B, readable [][]byte, writable []uint32) {
	d, _ := disk(b, 1<<20, false)
	drv := queuetest.New(256, 1<<20)
	d.mem, d.q, d.irq = drv.Mem, &drv.Queue, queuetest.NewIRQ()
	b.SetBytes(4096)
	b.ReportAllocs()
	for b.Loop() {
		head, _ := drv.Add(readable, writable)
		if err := d.process(nil); err != nil {
			b.Fatal(err)
		}
		if h, _, ok := drv.Used(); !ok || h != head {
			b.Fatal("request not completed")
		}
	}
}

// BenchmarkRead serves one 4 KiB read (header, data, status) from a file.
func BenchmarkRead(b *testing.B) {
	benchRequests(b, [][]byte{header(typeIn, 8)}, []uint32{4096, 1})
}

// BenchmarkWrite serves one 4 KiB write to a file.
func BenchmarkWrite(b *testing.B) {
	benchRequests(b, [][]byte{header(typeOut, 16), pattern(4096)}, []uint32{1})
}
