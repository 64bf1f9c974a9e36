package guestinit

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// newRoot is where the root disk is mounted before it becomes "/".
const newRoot = "/newroot"

// movedMounts are the pseudo file systems the init mounted in the
// initramfs; they move into the new root (which must have the
// directories; /dev/pts moves with /dev).
func movedMounts() []string { return []string{"/dev", "/proc", "/sys", "/tmp", "/run"} }

// switchRoot mounts disk m read-only and makes it the root, as
// switch_root does: the pseudo file systems move into it, the
// initramfs's files are deleted (their memory goes back to the guest's
// kernel), and the init goes on in the new root.
func switchRoot(con io.Writer, m Mount) error {
	if err := os.MkdirAll(newRoot, 0o755); err != nil {
		return fmt.Errorf("root disk: %w", err)
	}
	if err := unix.Mount(m.Source, newRoot, m.FSType, unix.MS_RDONLY, ""); err != nil {
		return fmt.Errorf("mount the root disk %s (%s) read-only: %w", m.Source, m.FSType, err)
	}
	for _, d := range movedMounts() {
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
// mount point, but only when "/" really is an initramfs (ramfs or tmpfs):
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
		if p := filepath.Join("/", e.Name()); p != newRoot {
			errs = append(errs, os.RemoveAll(p))
		}
	}
	return errors.Join(errs...)
}
