package bench

import (
	"os"
	"path/filepath"
	"slices"
	"syscall"

	"github.com/vmmlab/vmm/bench/results"
	"github.com/vmmlab/vmm/internal/rootdisk"
)

// imageDisk measures img's footprint on disk: the file given, each
// unpacked layer (with the other images of apps that share it) and the
// VMs' ext4. A size that cannot be read stays 0.
func imageDisk(img *OCIImage, apps []*OCIImage) *results.ImageDisk {
	d := &results.ImageDisk{TarballBytes: allocated(img.Tarball), Ext4Bytes: allocated(img.Ext4)}
	for _, dir := range img.Layers {
		l := results.LayerDisk{ID: filepath.Base(dir)}
		l.Bytes, _ = rootdisk.DiskUsage(dir)
		for _, other := range apps {
			if other != img && slices.Contains(other.Layers, dir) {
				l.SharedWith = append(l.SharedWith, other.Name)
			}
		}
		d.Layers = append(d.Layers, l)
	}
	return d
}

// allocated is the space file p takes on disk (0 for none).
func allocated(p string) int64 {
	if p == "" {
		return 0
	}
	fi, err := os.Stat(p)
	if err != nil {
		return 0
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Blocks * 512
	}
	return fi.Size()
}
