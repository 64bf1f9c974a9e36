package bench

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/vmmlab/vmm/bench/rootdisk"
	"github.com/vmmlab/vmm/bench/workload"
)

// Footprint is what each target needs on disk, and what N containers of
// one large image cost on disk (the "1,000 containers from a 1 GB image"
// claim), measured with crun over one shared read-only root.
type Footprint struct {
	Files      []FootprintFile  `json:"files"`
	LargeImage *LargeImageRun   `json:"large_image,omitempty"`
	Docker     *DockerFootprint `json:"docker,omitempty"`
}

// FootprintFile is one target's on-disk need.
type FootprintFile struct {
	Target string `json:"target"`
	What   string `json:"what"`
	Bytes  int64  `json:"bytes"`
}

// LargeImageRun is N idle containers started from one large root.
type LargeImageRun struct {
	Target       string `json:"target"`
	ImageBytes   int64  `json:"image_bytes"`
	N            int    `json:"n"`
	Started      int    `json:"started"`
	BundleBytes  int64  `json:"bundle_bytes"` // every container's own files (bundles) together
	DiskTotal    int64  `json:"disk_total"`   // image + bundles
	MemAvailDrop int64  `json:"mem_available_drop"`
	Error        string `json:"error,omitempty"`
}

// MeasureFiles sizes what each VM and container target needs on disk.
func MeasureFiles(a Assets) []FootprintFile {
	size := func(p string) int64 { n, _ := rootdisk.DiskUsage(p); return n }
	disk := size(a.RootDisk)
	stock := FootprintFile{TargetVMStock, "Debian kernel + initramfs + root disk", size(a.StockKernel) + size(a.StockInitrd) + disk}
	if a.Unpacked != "" { // the kernel vmm unpacked from the bzImage, kept beside it
		stock.What = "Debian kernel (bzImage and unpacked) + initramfs + root disk"
		stock.Bytes += size(a.Unpacked)
	}
	return []FootprintFile{
		{TargetVM, "minimal kernel + root disk", size(a.MicroKernel) + disk},
		stock,
		{"containers", "root file system (shared, read-only)", size(a.Rootfs)},
	}
}

// RunLargeImage makes a root of imageMiB (the shared root plus a filler
// file), starts n idle containers of t from it, and measures the disk
// and memory they take; everything is removed afterwards.
func RunLargeImage(ctx context.Context, t Target, a Assets, stateDir string, imageMiB, n int, timeout time.Duration) *LargeImageRun {
	r := &LargeImageRun{Target: t.Name(), N: n}
	root, err := os.MkdirTemp(filepath.Dir(stateDir), "vmm-bench-large-")
	if err != nil {
		r.Error = err.Error()
		return r
	}
	defer os.RemoveAll(root)
	if err := copyTree(a.Rootfs, root); err != nil {
		r.Error = err.Error()
		return r
	}
	filler := make([]byte, 1<<20)
	f, err := os.Create(filepath.Join(root, "large-image-data"))
	if err != nil {
		r.Error = err.Error()
		return r
	}
	for i := 0; i < imageMiB; i++ {
		filler[0] = byte(i)
		f.Write(filler)
	}
	f.Close()
	r.ImageBytes, _ = rootdisk.DiskUsage(root)
	la := a
	la.Rootfs = root
	lt := NewRuntime(la, t.Name(), stateDir, t.(*ctrTarget).noPivot)
	defer lt.(*ctrTarget).Close()
	before, _ := ReadHostMemory()
	var live []*Instance
	for i := 0; i < n && ctx.Err() == nil; i++ {
		lctx, cancel := context.WithTimeout(ctx, timeout)
		in, err := lt.Launch(lctx, Spec{Workload: workload.HTTP, MemMiB: 64, CPUs: 1})
		cancel()
		if err != nil {
			r.Error = fmt.Sprintf("container %d: %v", i+1, err)
			break
		}
		live = append(live, in)
	}
	r.Started = len(live)
	r.BundleBytes, _ = rootdisk.DiskUsage(stateDir)
	r.DiskTotal = r.ImageBytes + r.BundleBytes
	after, _ := ReadHostMemory()
	r.MemAvailDrop = before.MemAvailable - after.MemAvailable
	for _, in := range live {
		in.Stop()
	}
	return r
}

// copyTree copies regular files, directories and symlinks below src.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(out, info.Mode().Perm()|0o700)
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(target, out)
		case info.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(out, b, info.Mode().Perm())
		}
		return nil
	})
}
