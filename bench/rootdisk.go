package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
)

// MakeRootDisk writes an ext4 image of tree dir to out: the VMs' root
// disk (Assets.RootDisk), attached read-only. It has no journal (nothing
// writes to it) and room for the tree plus a quarter; the file is sparse,
// so only the blocks the tree fills take disk space. It needs mkfs.ext4
// (e2fsprogs) with -d.
func MakeRootDisk(ctx context.Context, dir, out string) error {
	used, err := duBytes(dir)
	if err != nil {
		return fmt.Errorf("root disk: %w", err)
	}
	mib := (used+used/4)>>20 + 16
	os.Remove(out)
	cmd := exec.CommandContext(ctx, "mkfs.ext4", "-q", "-F", "-L", "vmmroot", "-O", "^has_journal",
		"-E", "root_owner=0:0", "-d", dir, out, fmt.Sprintf("%dM", mib))
	if b, err := cmd.CombinedOutput(); err != nil {
		os.Remove(out)
		return fmt.Errorf("mkfs.ext4 (package e2fsprogs) for the root disk: %w: %s", err, b)
	}
	return nil
}
