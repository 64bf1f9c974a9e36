package main

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/vmmlab/vmm/image/process"
)

// A packed workload is one layer with the program as /NAME, Cmd
// ["/NAME"], ready at the bench's marker, and the same bytes every time
// (one digest, one store entry, however often the bench runs).
func TestPackWorkload(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "http")
	os.WriteFile(bin, []byte("\x7fELF a static program"), 0o755)
	out1, out2 := filepath.Join(dir, "a", "http.tar"), filepath.Join(dir, "b", "http.tar")
	for _, out := range []string{out1, out2} {
		if err := packWorkload(out, bin, "http"); err != nil {
			t.Fatal(err)
		}
	}
	b1, _ := os.ReadFile(out1)
	b2, _ := os.ReadFile(out2)
	if !bytes.Equal(b1, b2) {
		t.Error("two packs of one program differ")
	}
	img, err := tarball.ImageFromPath(out1, nil)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cf.Config.Cmd, []string{"/http"}) || cf.Config.Labels[process.ReadyLabel] != "log:VMM-BENCH-READY" || cf.Architecture != "amd64" {
		t.Errorf("config %+v", cf.Config)
	}
	layers, _ := img.Layers()
	if len(layers) != 1 {
		t.Fatalf("%d layers", len(layers))
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(rc)
	h, err := tr.Next()
	if err != nil || h.Name != "http" || h.Mode != 0o755 {
		t.Fatalf("entry %+v, %v", h, err)
	}
	if body, _ := io.ReadAll(tr); string(body) != "\x7fELF a static program" {
		t.Errorf("body %q", body)
	}
	if _, err := tr.Next(); err != io.EOF {
		t.Errorf("a second entry: %v", err)
	}
	if err := packWorkload(filepath.Join(dir, "c.tar"), filepath.Join(dir, "missing"), "http"); err == nil {
		t.Error("a missing program was packed")
	}
}
