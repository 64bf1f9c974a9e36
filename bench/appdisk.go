package bench

import (
	"path/filepath"
	"slices"

	"github.com/vmmlab/vmm/bench/results"
	"github.com/vmmlab/vmm/internal/rootdisk"
)

// imageDisk measures img's footprint on disk: the file given, each
// unpacked layer (with the other images of apps that share it) and the
// VMs' ext4. A size that cannot be read stays 0.
func imageDisk(img *OCIImage, apps []*OCIImage) *results.ImageDisk {
	d := &results.ImageDisk{TarballBytes: diskBytes(img.Tarball), Ext4Bytes: diskBytes(img.Ext4)}
	for _, dir := range img.Layers {
		l := results.LayerDisk{ID: filepath.Base(dir), Bytes: diskBytes(dir)}
		for _, other := range apps {
			if other != img && slices.Contains(other.Layers, dir) {
				l.SharedWith = append(l.SharedWith, other.Name)
			}
		}
		d.Layers = append(d.Layers, l)
	}
	return d
}

// diskBytes is the space a file or tree takes on disk, 0 for "" or one
// that cannot be read.
func diskBytes(p string) int64 {
	n, _ := rootdisk.DiskUsage(p)
	return n
}
