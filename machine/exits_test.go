package machine

import (
	"testing"

	"github.com/vmmlab/vmm/kvm"
)

func TestExitCounts(t *testing.T) {
	var c exitCounts
	for range 3 {
		c.add(kvm.Exit{Reason: kvm.ExitIO, IO: kvm.IOExit{Port: 0x3f8}})
	}
	c.add(kvm.Exit{Reason: kvm.ExitMMIO, MMIO: kvm.MMIOExit{Addr: 0xd0000050}})
	c.add(kvm.Exit{Reason: kvm.ExitHLT})
	got := c.snapshot()
	if got["io 0x3f8"] != 3 || got["mmio 0xd0000000"] != 1 || len(got) != 3 {
		t.Fatalf("counts %v", got)
	}
}
