package initramfs

import (
	"compress/gzip"
	"fmt"
	"os"
	"path"
	"sort"

	"golang.org/x/sys/unix"

	"github.com/vmmlab/vmm/internal/beneath"
)

// ExtractTo writes the archive's directories, files and symlinks below
// dir (which must exist), so that a container root holds the same bytes
// as the image. Device nodes are skipped (a runtime or the kernel makes
// /dev itself), but their directories are made: they are mount points.
//
// The archive is untrusted (an image vmm is handed, extracted as root):
// nothing is created by path, and no symlink is followed (package
// beneath): an entry under one is an error.
func (a *Archive) ExtractTo(dir string) error {
	root, err := beneath.OpenRoot(dir)
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
	parent, err := beneath.OpenDir(root, path.Dir(p))
	if err != nil {
		return err
	}
	defer unix.Close(parent)
	name := path.Base(p)
	perm := uint32(e.mode & 0o7777)
	switch e.mode & typeMask {
	case typeDir:
		return beneath.Mkdir(parent, name, perm|0o700)
	case typeFile:
		return writeFileAt(parent, name, e.data, perm)
	case typeSymlink:
		return unix.Symlinkat(string(e.data), parent, name)
	}
	return nil // a device node: its directory is made
}

// writeFileAt writes data as file name in dir; a symlink there is an
// error, not followed.
func writeFileAt(dir int, name string, data []byte, perm uint32) error {
	fd, err := beneath.CreateFile(dir, name, perm)
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
