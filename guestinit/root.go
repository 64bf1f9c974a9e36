package guestinit

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"golang.org/x/sys/unix"
)

// newRoot is where the root disk is mounted before it becomes "/".
const newRoot = "/newroot"

// overlayLower and overlayUpper are where an overlay root's layers are
// mounted in the initramfs; the overlay keeps them once "/" moves.
const (
	overlayLower = "/layers/lower"
	overlayUpper = "/layers/upper"
)

// keptPaths are the initramfs's directories freeInitramfs leaves alone:
// mount points of the new root and its layers.
func keptPaths() []string { return []string{newRoot, "/layers"} }

// movedMounts are the pseudo file systems the init mounted in the
// initramfs; they move into the new root (which must have the
// directories; /dev/pts moves with /dev).
func movedMounts() []string { return []string{"/dev", "/proc", "/sys", "/tmp", "/run"} }

// switchRoot makes the task's root disk the root, as switch_root does:
// the disk is mounted (read-only, or as the lower layer of an overlay
// when the task has an upper layer), the pseudo file systems move into
// it, the initramfs's files are deleted (their memory goes back to the
// guest's kernel), and the init goes on in the new root.
func switchRoot(con io.Writer, t Task) error {
	if err := os.MkdirAll(newRoot, 0o755); err != nil {
		return fmt.Errorf("root disk: %w", err)
	}
	m := *t.Root
	if t.Upper == "" {
		if err := unix.Mount(m.Source, newRoot, m.FSType, unix.MS_RDONLY, ""); err != nil {
			return fmt.Errorf("mount the root disk %s (%s) read-only: %w", m.Source, m.FSType, err)
		}
	} else if err := mountOverlayRoot(m, t.Upper); err != nil {
		return err
	}
	for _, d := range movedMounts() {
		if err := os.MkdirAll(newRoot+d, 0o755); err != nil && t.Upper != "" {
			return fmt.Errorf("root: %w", err)
		}
		if err := unix.Mount(d, newRoot+d, "", unix.MS_MOVE, ""); err != nil {
			return fmt.Errorf("move %s into the root disk (it needs the directory): %w", d, err)
		}
	}
	if err := freeInitramfs(con); err != nil {
		logf(con, "freeing the initramfs: %v", err)
	}
	if err := unix.Chdir(newRoot); err != nil {
		return fmt.Errorf("root disk: %w", err)
	}
	if err := unix.Mount(".", "/", "", unix.MS_MOVE, ""); err != nil {
		return fmt.Errorf("make the root disk the root: %w", err)
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("chroot into the root disk: %w", err)
	}
	return unix.Chdir("/")
}

// freeInitramfs deletes every file of the initramfs except the new root's
// and its layers' mount points, but only when "/" really is an initramfs (ramfs or tmpfs):
// a disk root is never touched.
func freeInitramfs(con io.Writer) error {
	var st unix.Statfs_t
	if err := unix.Statfs("/", &st); err != nil {
		return err
	}
	if st.Type != unix.RAMFS_MAGIC && st.Type != unix.TMPFS_MAGIC {
		return nil
	}
	ents, err := os.ReadDir("/")
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range ents {
		if p := filepath.Join("/", e.Name()); !slices.Contains(keptPaths(), p) {
			errs = append(errs, os.RemoveAll(p))
		}
	}
	return errors.Join(errs...)
}
