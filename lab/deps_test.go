package lab

import (
	"os/exec"
	"strings"
	"testing"
)

// The test harness does not link the bench (its containers, plotting and
// reports): what the lab needs of it, the workloads' names and the root
// disk's builder, live in leaf packages.
func TestLabDoesNotLinkTheBench(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("needs the go command")
	}
	out, err := exec.Command(goBin, "list", "-deps", "github.com/vmmlab/vmm/lab").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, d := range strings.Fields(string(out)) {
		switch d {
		case "github.com/vmmlab/vmm/bench", "github.com/vmmlab/vmm/container", "gonum.org/v1/plot":
			t.Errorf("lab links %s", d)
		}
	}
}
