package lab

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/vmmlab/vmm/internal/rootdisk"
)

// Drive is a disk of the outer guest (virtio-blk, in order: /dev/vda,
// /dev/vdb, ...).
type Drive struct {
	Path     string
	ReadOnly bool
}

// AssetsDir is where the outer guest mounts its first disk, the assets
// too large for its initramfs (which it holds in memory). Its second, a
// scratch disk, it mounts at /var/lib, where the image store, docker's
// root and containerd's root live (outer-init.sh).
const AssetsDir = "/lab/assets"

// scratchSize is the scratch disk's size (a sparse file: only what the
// guest writes takes space).
const scratchSize = 16 << 30

// outerDisks writes the assets disk (files: name in the disk -> host
// path) and an empty scratch disk into work.
func outerDisks(ctx context.Context, work string, files map[string]string) ([]Drive, error) {
	stage := filepath.Join(work, "assets")
	os.RemoveAll(stage)
	for name, host := range files {
		dst := filepath.Join(stage, name)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return nil, err
		}
		if err := os.Link(host, dst); err != nil { // a copy where a link cannot be
			if err := copyFile(host, dst); err != nil {
				return nil, fmt.Errorf("assets disk: %w", err)
			}
		}
	}
	os.MkdirAll(stage, 0o755)
	assets, scratch := filepath.Join(work, "assets.ext4"), filepath.Join(work, "scratch.ext4")
	if err := rootdisk.Make(ctx, stage, assets); err != nil {
		return nil, fmt.Errorf("assets disk: %w", err)
	}
	os.RemoveAll(stage)
	os.Remove(scratch)
	if err := rootdisk.Scratch(ctx, scratch, scratchSize); err != nil {
		return nil, fmt.Errorf("scratch disk: %w", err)
	}
	return []Drive{{Path: assets, ReadOnly: true}, {Path: scratch}}, nil
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}
