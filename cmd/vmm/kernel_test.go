package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmmlab/vmm/kernelcache"
)

// With --unpack-kernel, a kernel the cache holds is mapped from it (no
// helper runs), one the cache refused boots as the bzImage, and a cache
// that cannot be used is an error.
func TestLoadKernelFromTheCache(t *testing.T) {
	dir := t.TempDir()
	bz := filepath.Join(dir, "bzImage")
	if err := os.WriteFile(bz, []byte("the bzImage"), 0o644); err != nil {
		t.Fatal(err)
	}
	cache := kernelcache.Dir(filepath.Join(dir, "unpacked"))
	e, err := cache.Find(bz)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cache.Store(e.Key, []byte("the unpacked kernel")); err != nil {
		t.Fatal(err)
	}
	o := bootOptions{kernel: bz, unpackKernel: string(cache)}
	var stderr bytes.Buffer
	k, err := o.loadKernel(&stderr)
	if err != nil {
		t.Fatal(err)
	}
	if string(k.data) != "the unpacked kernel" || !strings.Contains(k.fact, "unpacked before") || !strings.Contains(k.fact, "PVH entry point") {
		t.Errorf("loaded %q, fact %q", k.data, k.fact)
	}
	k.release()

	if err := os.WriteFile(bz, []byte("another bzImage"), 0o644); err != nil {
		t.Fatal(err)
	}
	e, _ = cache.Find(bz)
	cache.Refuse(e.Key, "no PVH entry point")
	k, err = o.loadKernel(&stderr)
	if err != nil || string(k.data) != "another bzImage" || !strings.Contains(k.fact, "no PVH entry point") || !strings.Contains(k.fact, "own decompressor") {
		t.Errorf("a refused kernel: %q, fact %q, %v; want the bzImage as it is, and why", k.data, k.fact, err)
	}

	if _, err := (bootOptions{kernel: filepath.Join(dir, "missing"), unpackKernel: string(cache)}).loadKernel(&stderr); err == nil {
		t.Error("a missing kernel with --unpack-kernel gave no error")
	}
	k, err = (bootOptions{kernel: bz}).loadKernel(&stderr)
	if err != nil || string(k.data) != "another bzImage" || k.fact != "" {
		t.Errorf("without --unpack-kernel: %q, fact %q, %v", k.data, k.fact, err)
	}
}
