package machine

import "testing"

// The first window starts on a 1 GiB boundary above RAM and above 4 GiB:
// never in the MMIO hole, never over RAM.
func TestFirstPmemBase(t *testing.T) {
	for _, c := range []struct{ mem, want uint64 }{
		{512 << 20, 4 << 30},
		{3 << 30, 4 << 30},
		{3<<30 + 512<<20, 5 << 30}, // RAM above 4 GiB ends at 4.5 GiB
		{4 << 30, 5 << 30},
		{6 << 30, 7 << 30},
	} {
		if got := firstPmemBase(c.mem); got != c.want {
			t.Errorf("%d MiB of RAM: first window at %#x, want %#x", c.mem>>20, got, c.want)
		}
	}
}

// A machine with a pmem window refuses a snapshot with a reason: its
// window's contents live in a file the snapshot would not hold.
func TestPmemMachineIsNotSnapshottable(t *testing.T) {
	m := &Machine{cfg: Config{Pmem: []Pmem{{Path: "root.img", ReadOnly: true}}}}
	if err := m.snapshottable(); err == nil {
		t.Fatal("a machine with --pmem is snapshottable")
	}
}
