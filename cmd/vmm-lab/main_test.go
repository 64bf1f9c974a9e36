package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Defect: with no $HOME the default cache was "vmm", relative to the
// clone, so kernels landed inside it.
func TestDefaultCacheIsAbsolute(t *testing.T) {
	t.Setenv("HOME", "")
	t.Setenv("XDG_CACHE_HOME", "")
	if c := defaultCache(); !filepath.IsAbs(c) {
		t.Errorf("default cache %q is relative", c)
	}
}

// The vmm the lab and the bench run keeps its Go heap off transparent
// huge pages, and says so.
func TestVMMBuiltWithHeapTHPOff(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "vmm")
	if err := goBuild(context.Background(), bin, "../vmm", vmmFlags); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "transparent huge pages: off") {
		t.Fatalf("vmm version: %v\n%s", err, out)
	}
}
