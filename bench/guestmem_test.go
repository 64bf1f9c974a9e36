package bench

import (
	"context"
	"os/exec"
	"testing"

	"github.com/vmmlab/vmm/guestinit"
)

// A VM instance's memory report is taken from its output, wherever it
// comes among the other lines, even after another writer's unfinished
// line; an instance that is not a VM has none.
func TestGuestMemoryFromOutput(t *testing.T) {
	script := "echo ready; echo 'half a line" + guestinit.MemReportPrefix + "MemTotal=100 MemFree=40 slab:dentry=7'; for i in $(seq 40); do echo later $i; done; sleep 30"
	in := &Instance{GuestRAM: 128 << 20}
	if _, err := startProcFor(context.Background(), exec.Command("sh", "-c", script), in, "ready"); err != nil {
		t.Fatal(err)
	}
	defer in.Stop()
	m := guestMemory(context.Background(), in)
	if m["MemTotal"] != 100 || m["MemFree"] != 40 || m["slab:dentry"] != 7 {
		t.Errorf("report %v", m)
	}
	in.GuestRAM = 0
	if m := guestMemory(context.Background(), in); m != nil {
		t.Errorf("a container's report: %v", m)
	}
	if memReportAfter(0) != 1 || memReportAfter(1500e6) != 2 {
		t.Errorf("memReportAfter: %d, %d", memReportAfter(0), memReportAfter(1500e6))
	}
}
