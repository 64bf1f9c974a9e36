package queue_test

import (
	"testing"

	"github.com/vmmlab/vmm/devices/virtio/queue/queuetest"
)

// BenchmarkPopPush makes a two-descriptor chain available, pops it and
// returns it used: one request's worth of ring traffic.
func BenchmarkPopPush(b *testing.B) {
	drv := queuetest.New(256, 1<<20)
	hdr := make([]byte, 16)
	b.ReportAllocs()
	for b.Loop() {
		head, _ := drv.Add([][]byte{hdr}, []uint32{512})
		c, ok, err := drv.Queue.Pop(drv.Mem)
		if err != nil || !ok || c.Head != head {
			b.Fatalf("pop: %v %v", ok, err)
		}
		if err := drv.Queue.PushUsed(drv.Mem, c.Head, 512); err != nil {
			b.Fatal(err)
		}
		if _, _, ok := drv.Used(); !ok {
			b.Fatal("no used element")
		}
	}
}
