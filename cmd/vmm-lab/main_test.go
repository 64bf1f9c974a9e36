package main

import (
	"path/filepath"
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
