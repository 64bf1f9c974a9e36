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
