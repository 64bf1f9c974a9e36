package machine

import (
	"testing"
	"time"

	"github.com/vmmlab/vmm/kvm"
)

type nopDevice struct{}

func (nopDevice) Read(uint64, []byte)  {}
func (nopDevice) Write(uint64, []byte) {}

func TestExitCounts(t *testing.T) {
	m := &Machine{}
	if err := m.pio.Register("serial", 0x3f8, 8, nopDevice{}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		m.exits.add(kvm.Exit{Reason: kvm.ExitIO, IO: kvm.IOExit{Port: 0x3f8}}, 2*time.Microsecond)
	}
	m.exits.add(kvm.Exit{Reason: kvm.ExitMMIO, MMIO: kvm.MMIOExit{Addr: 0xd0000050}}, time.Microsecond)
	m.exits.add(kvm.Exit{Reason: kvm.ExitHLT}, 0)
	got := m.exits.snapshot()
	if got["io 0x3f8"] != 3 || got["mmio 0xd0000000"] != 1 || len(got) != 3 {
		t.Fatalf("counts %v", got)
	}
	stats := m.ExitStats()
	if len(stats) != 3 || stats[0] != (ExitStat{Cause: "io 0x3f8", Device: "serial", Count: 3, Total: 6 * time.Microsecond}) || stats[1].Device != "" {
		t.Fatalf("exit stats %+v", stats)
	}
}

// A guest that touches a new unbacked page (or port) on every access must
// not grow vmm's heap or its status without bound: past maxAddrKeys
// addresses of a kind, the rest are counted together.
func TestExitCountsBounded(t *testing.T) {
	var c exitCounts
	const n, maxAddrKeys = 10000, 64 // the bound
	for i := range uint64(n) {
		c.add(kvm.Exit{Reason: kvm.ExitMMIO, MMIO: kvm.MMIOExit{Addr: 0xe0000000 + i<<12}}, 0)
		c.add(kvm.Exit{Reason: kvm.ExitIO, IO: kvm.IOExit{Port: uint16(i)}}, 0)
	}
	c.add(kvm.Exit{Reason: kvm.ExitMMIO, MMIO: kvm.MMIOExit{Addr: 0xe0000010}}, 0) // a page counted already
	got := c.snapshot()
	if len(got) != 2*(maxAddrKeys+1) {
		t.Fatalf("%d causes, want %d: %v", len(got), 2*(maxAddrKeys+1), got)
	}
	var mmio, io uint64
	for k, v := range got {
		switch k[:2] {
		case "mm":
			mmio += v
		case "io":
			io += v
		}
	}
	if mmio != n+1 || io != n || got["mmio 0xe0000000"] != 2 {
		t.Fatalf("mmio %d io %d exits counted, want %d and %d: %v", mmio, io, n+1, n, got)
	}
	if got["mmio other"] != n-maxAddrKeys || got["io other"] != n-maxAddrKeys {
		t.Fatalf("others %d and %d, want %d", got["mmio other"], got["io other"], n-maxAddrKeys)
	}
}
