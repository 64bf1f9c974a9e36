package bench

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/vmmlab/vmm/bench/results"
	"github.com/vmmlab/vmm/bench/workload"
	"github.com/vmmlab/vmm/internal/rootdisk"
)

// measureFiles sizes what each VM and container target needs on disk.
func measureFiles(a Assets, vms bool) []results.FootprintFile {
	containers := results.FootprintFile{Target: "containers", What: "root file system (shared, read-only)", Bytes: diskBytes(a.Rootfs)}
	if !vms {
		return []results.FootprintFile{containers}
	}
	disk := diskBytes(a.RootDisk)
	stock := results.FootprintFile{Target: results.TargetVMStock, What: "Debian kernel + initramfs + root disk", Bytes: diskBytes(a.StockKernel) + diskBytes(a.StockInitrd) + disk}
	if a.Unpacked != "" { // the kernel vmm unpacked from the bzImage, kept beside it
		stock.What = "Debian kernel (bzImage and unpacked) + initramfs + root disk"
		stock.Bytes += diskBytes(a.Unpacked)
	}
	return []results.FootprintFile{{Target: results.TargetVM, What: "minimal kernel + root disk", Bytes: diskBytes(a.MicroKernel) + disk}, stock, containers}
}

// runLargeImage makes a root of imageMiB (the shared root plus a filler
// file), starts n idle containers of t from it, and measures the disk
// and memory they take; everything is removed afterwards.
func runLargeImage(ctx context.Context, t Target, a Assets, stateDir string, imageMiB, n int, timeout time.Duration) *results.LargeImageRun {
	r := &results.LargeImageRun{Target: t.Name(), N: n}
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
	lt := newRuntime(la, t.Name(), stateDir, t.(*ctrTarget).noPivot)
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
