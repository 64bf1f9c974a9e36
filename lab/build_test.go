package lab

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The vmm the lab and the bench run keeps its Go heap off transparent
// huge pages, and says so.
func TestVMMBuiltWithHeapTHPOff(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "vmm")
	if err := GoBuild(context.Background(), bin, "../cmd/vmm", VMMFlags); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "transparent huge pages: off") {
		t.Fatalf("vmm version: %v\n%s", err, out)
	}
}
