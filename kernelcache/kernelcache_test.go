package kernelcache

import (
	"os"
	"path/filepath"
	"testing"
)

func TestFindStoreRefuse(t *testing.T) {
	dir := t.TempDir()
	bz := filepath.Join(dir, "bzImage")
	if err := os.WriteFile(bz, []byte("a kernel"), 0o644); err != nil {
		t.Fatal(err)
	}
	d := Dir(filepath.Join(dir, "cache"))
	e, err := d.Find(bz)
	if err != nil || e.Key == "" || e.Vmlinux != "" || e.Refused != "" {
		t.Fatalf("Find in an empty cache: %+v, %v", e, err)
	}
	p, err := d.Store(e.Key, []byte("unpacked"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := d.Find(bz); err != nil || got.Vmlinux != p || got.Key != e.Key {
		t.Fatalf("Find after Store: %+v, %v; want %s", got, err, p)
	}
	if b, _ := os.ReadFile(p); string(b) != "unpacked" {
		t.Fatalf("stored %q", b)
	}

	// A new kernel written over the file is another kernel.
	if err := os.WriteFile(bz, []byte("another kernel"), 0o644); err != nil {
		t.Fatal(err)
	}
	e2, err := d.Find(bz)
	if err != nil || e2.Key == e.Key || e2.Vmlinux != "" {
		t.Fatalf("Find after the bzImage changed: %+v, %v; want a miss under a new key", e2, err)
	}
	if err := d.Refuse(e2.Key, "no PVH entry"); err != nil {
		t.Fatal(err)
	}
	if got, _ := d.Find(bz); got.Refused != "no PVH entry" || got.Vmlinux != "" {
		t.Fatalf("Find after Refuse: %+v", got)
	}
}

func TestFindBadInput(t *testing.T) {
	dir := t.TempDir()
	if _, err := Dir(dir).Find(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing kernel gave no error")
	}
	if _, err := Dir(dir).Find(dir); err == nil {
		t.Error("a directory as the kernel gave no error")
	}
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o644)
	if _, err := Dir(filepath.Join(file, "sub")).Store("k", []byte("x")); err == nil {
		t.Error("a cache directory under a file gave no error")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("%d files in the directory, want only the one written", len(entries))
	}
}
