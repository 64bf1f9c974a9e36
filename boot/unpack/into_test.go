package unpack

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"testing"

	"github.com/vmmlab/vmm/kernelcache"
)

func writeFile(t *testing.T, path string, b []byte) string {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func pvhBzImage(t *testing.T) []byte {
	t.Helper()
	xzKernel, err := os.ReadFile("testdata/pvh-kernel.xz")
	if err != nil {
		t.Fatal(err)
	}
	return withPayload(t, xzKernel, uint32(len(rawKernel(t))))
}

func TestIntoUnpacksOnce(t *testing.T) {
	kernel := writeFile(t, filepath.Join(t.TempDir(), "bzImage"), pvhBzImage(t))
	d := kernelcache.Dir(filepath.Join(t.TempDir(), "unpacked")) // made on first use
	e, err := Into(d, kernel)
	if err != nil || e.Vmlinux == "" || e.Refused != "" {
		t.Fatalf("Into: %+v, %v; want the kernel unpacked", e, err)
	}
	if got, err := os.ReadFile(e.Vmlinux); err != nil || !bytes.Equal(got, rawKernel(t)) {
		t.Fatalf("the cache holds %d bytes (%v), not the unpacked kernel", len(got), err)
	}
	// The next boot finds it without unpacking, by the file's identity.
	if f, err := d.Find(kernel); err != nil || f != e {
		t.Fatalf("Find after Into: %+v, %v; want %+v", f, err, e)
	}
	if entries, _ := os.ReadDir(string(d)); len(entries) != 1 {
		t.Errorf("the cache holds %d files, want the one kernel (no temporary file left)", len(entries))
	}
}

func TestIntoRefusesKernelsThatCannotBootUnpacked(t *testing.T) {
	notPVH := bytes.Replace(rawKernel(t), []byte("Xen\x00"), []byte("Nex\x00"), 1)
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write(notPVH)
	w.Close()
	for name, bz := range map[string][]byte{
		"no PVH entry": withPayload(t, gz.Bytes(), uint32(len(notPVH))),
		"lz4 payload":  withPayload(t, []byte{0x02, 0x21, 0x4c, 0x18, 1, 2, 3, 4}, 100),
	} {
		kernel := writeFile(t, filepath.Join(t.TempDir(), "bzImage"), bz)
		d := kernelcache.Dir(t.TempDir())
		e, err := Into(d, kernel)
		if err != nil || e.Vmlinux != "" || e.Refused == "" {
			t.Errorf("%s: %+v, %v; want it refused, with why", name, e, err)
		}
		if f, err := d.Find(kernel); err != nil || f.Refused != e.Refused {
			t.Errorf("%s: Find after the refusal: %+v, %v", name, f, err)
		}
	}
}

func TestIntoBadInput(t *testing.T) {
	corrupt := pvhBzImage(t)
	corrupt[len(corrupt)-100] ^= 0xff // inside the xz stream
	dir := t.TempDir()
	d := kernelcache.Dir(filepath.Join(dir, "unpacked"))
	e, err := Into(d, writeFile(t, filepath.Join(dir, "corrupt"), corrupt))
	if err == nil || e.Vmlinux != "" || e.Refused != "" {
		t.Errorf("corrupt payload: %+v, %v; want an error (the bzImage would not boot either)", e, err)
	}
	if entries, _ := os.ReadDir(string(d)); len(entries) != 0 {
		t.Errorf("a failed unpack left %d files in the cache", len(entries))
	}
	if _, err := Into(d, filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing kernel gave no error")
	}
	file := writeFile(t, filepath.Join(dir, "file"), nil)
	if _, err := Into(kernelcache.Dir(filepath.Join(file, "sub")), writeFile(t, filepath.Join(dir, "bz"), pvhBzImage(t))); err == nil {
		t.Error("a cache directory under a file gave no error")
	}
}
