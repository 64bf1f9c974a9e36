package main

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/vmmlab/vmm/bench/workload"
	"github.com/vmmlab/vmm/image/process"
)

// workloadAppPrefix marks an --app that is one of the bench's own
// workloads packed as an image: --app workload:http.
const workloadAppPrefix = "workload:"

// packWorkload writes the static workload program at bin as a one-layer
// docker save tarball at out: the program as /NAME and nothing else,
// Cmd ["/NAME"], ready at the bench's marker. The bytes are the same
// every time (fixed times), so its digest, and vmm's store entry, are.
func packWorkload(out, bin, wl string) error {
	prog, err := os.ReadFile(bin)
	if err != nil {
		return fmt.Errorf("workload %s: %w", wl, err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	epoch := time.Unix(0, 0)
	if err := tw.WriteHeader(&tar.Header{Name: wl, Mode: 0o755, Size: int64(len(prog)), ModTime: epoch, Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	if _, err := tw.Write(prog); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	layerBytes := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(layerBytes)), nil })
	if err != nil {
		return err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Created = "linux", "amd64", v1.Time{Time: epoch}
	cf.Config = v1.Config{Cmd: []string{"/" + wl}, Labels: map[string]string{process.ReadyLabel: "log:" + workload.Marker}}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return err
	}
	tag, err := name.NewTag("vmm.local/workload-" + wl + ":latest")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	return tarball.WriteToFile(out, tag, img)
}
