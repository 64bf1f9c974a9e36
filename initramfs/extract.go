package initramfs

import (
	"compress/gzip"
	"errors"
	"fmt"
	"os"
	"path"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// ExtractTo writes the archive's directories, files and symlinks below
// dir (which must exist), so that a container root holds the same bytes
// as the image. Device nodes are skipped (a runtime or the kernel makes
// /dev itself), but their directories are made: they are mount points.
//
// The archive is untrusted (an image vmm is handed, extracted as root):
// nothing is created by path. Every entry's directory is reached from
// dir one name at a time with O_NOFOLLOW, and the entry is made in it by
// name, so no symlink, the archive's own or one already in dir, is ever
// followed: an entry under one is an error.
func (a *Archive) ExtractTo(dir string) error {
	root, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("initramfs: extract to %s: %w", dir, err)
	}
	defer unix.Close(root)
	paths := make([]string, 0, len(a.entries))
	for p := range a.entries {
		paths = append(paths, p)
	}
	sort.Strings(paths) // parents before children
	for _, p := range paths {
		if err := extractEntry(root, p, a.entries[p]); err != nil {
			return fmt.Errorf("initramfs: extract %s: %w", p, err)
		}
	}
	return nil
}

// extractEntry makes entry e at path p (clean, relative) below root.
func extractEntry(root int, p string, e entry) error {
	parent, err := openDirBeneath(root, path.Dir(p))
	if err != nil {
		return err
	}
	defer unix.Close(parent)
	name := path.Base(p)
	perm := uint32(e.mode & 0o7777)
	switch e.mode & typeMask {
	case typeDir:
		return mkdirBeneath(parent, name, perm|0o700)
	case typeFile:
		return writeFileAt(parent, name, e.data, perm)
	case typeSymlink:
		return unix.Symlinkat(string(e.data), parent, name)
	}
	return nil // a device node: its directory is made
}

// openDirBeneath opens directory rel below root, making what is missing
// (mode 0755), one name at a time and never through a symlink.
func openDirBeneath(root int, rel string) (int, error) {
	fd, err := unix.Dup(root)
	if err != nil || rel == "." {
		return fd, err
	}
	for _, name := range strings.Split(rel, "/") {
		if err := mkdirBeneath(fd, name, 0o755); err != nil {
			unix.Close(fd)
			return -1, err
		}
		next, err := unix.Openat(fd, name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		unix.Close(fd)
		if err != nil {
			return -1, fmt.Errorf("%s: %w (a symlink or a file where a directory goes)", name, err)
		}
		fd = next
	}
	return fd, nil
}

// mkdirBeneath makes directory name in dir; one that exists is kept if
// it is a directory (not a symlink to one).
func mkdirBeneath(dir int, name string, perm uint32) error {
	err := unix.Mkdirat(dir, name, perm)
	if !errors.Is(err, unix.EEXIST) {
		return err
	}
	var st unix.Stat_t
	if err := unix.Fstatat(dir, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return fmt.Errorf("%s exists and is not a directory", name)
	}
	return nil
}

// writeFileAt writes data as file name in dir; a symlink there is an
// error, not followed.
func writeFileAt(dir int, name string, data []byte, perm uint32) error {
	fd, err := unix.Openat(dir, name, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_NOFOLLOW|unix.O_CLOEXEC, perm)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), name)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// ReadFile reads a (gzip-compressed or plain) newc image from disk.
func ReadFile(path string) (*Archive, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var magic [2]byte
	if _, err := f.ReadAt(magic[:], 0); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	a := &Archive{}
	if magic == [2]byte{0x1f, 0x8b} {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		err = ReadNewc(zr, a)
		return a, err
	}
	return a, ReadNewc(f, a)
}
