// Package rootdisk owns a VM's read-only root disk: an ext4 image of a
// directory tree (the bench image's, an OCI image's layers), and the
// disk usage that sizes it. It is a leaf: the lab, the bench and the
// image store use it without linking each other.
package rootdisk

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
)

// Make writes an ext4 image of tree dir to out: the VMs' root disk,
// attached read-only. It has no journal (nothing writes to it) and room
// for the tree plus a quarter; the file is sparse, so only the blocks the
// tree fills take disk space. It is also fit for a DAX mount through
// virtio-pmem: 4 KiB blocks (the page size) and a size of whole 2 MiB.
// It needs mkfs.ext4 (e2fsprogs) with -d.
func Make(ctx context.Context, dir, out string) error {
	used, err := DiskUsage(dir)
	if err != nil {
		return fmt.Errorf("root disk: %w", err)
	}
	mib := ((used+used/4)>>20 + 16 + 1) &^ 1
	os.Remove(out)
	cmd := exec.CommandContext(ctx, "mkfs.ext4", "-q", "-F", "-L", "vmmroot", "-O", "^has_journal", "-b", "4096",
		"-E", "root_owner=0:0", "-d", dir, out, fmt.Sprintf("%dM", mib))
	if b, err := cmd.CombinedOutput(); err != nil {
		os.Remove(out)
		return fmt.Errorf("mkfs.ext4 (package e2fsprogs) for the root disk: %w: %s", err, b)
	}
	return nil
}

// DiskUsage is the disk space a file or tree takes (allocated blocks).
func DiskUsage(root string) (int64, error) {
	var total int64
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		total += diskBlocks(info)
		return nil
	})
	return total, err
}

// diskBlocks is the space a file takes on disk (st_blocks × 512), or its
// size where the file system does not say.
func diskBlocks(info fs.FileInfo) int64 {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return st.Blocks * 512
	}
	return info.Size()
}

// Scratch writes an empty ext4 image of size bytes to out: a VM's
// writable scratch disk. The file is sparse; only what the guest writes
// takes disk space.
func Scratch(ctx context.Context, out string, size uint64) error {
	cmd := exec.CommandContext(ctx, "mkfs.ext4", "-q", "-F", "-L", "vmmscratch", "-E", "root_owner=0:0", out, fmt.Sprintf("%dK", size>>10))
	if b, err := cmd.CombinedOutput(); err != nil {
		os.Remove(out)
		return fmt.Errorf("mkfs.ext4 (package e2fsprogs) for the scratch disk: %w: %s", err, b)
	}
	return nil
}
