package bus

import "testing"

type nop struct{}

func (nop) Read(uint64, []byte)  {}
func (nop) Write(uint64, []byte) {}

// BenchmarkDispatch looks up and dispatches a port write on a bus holding
// as many devices as vmm's port bus does.
func BenchmarkDispatch(b *testing.B) {
	var bus Bus
	for i, base := range []uint64{0x20, 0x40, 0x60, 0x70, 0x80, 0xa0, 0x3f8, 0x440, 0x600, 0xcf8} {
		if err := bus.Register(string(rune('a'+i)), base, 4, nop{}); err != nil {
			b.Fatal(err)
		}
	}
	data := []byte{'x'}
	b.ReportAllocs()
	for b.Loop() {
		if !bus.Write(0x3f8, data) {
			b.Fatal("not dispatched")
		}
	}
}

// Accesses to an empty port from every vCPU at once: counting them takes
// no lock (it once took the bus's write lock on every access).
func BenchmarkUnhandledParallel(b *testing.B) {
	var bus Bus
	b.RunParallel(func(pb *testing.PB) {
		data := make([]byte, 1)
		for pb.Next() {
			bus.Read(0x80, data)
		}
	})
	if bus.Unhandled() == 0 {
		b.Fatal("nothing counted")
	}
}
