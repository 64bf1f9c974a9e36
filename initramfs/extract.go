package initramfs

import (
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// ExtractTo writes the archive's directories, files and symlinks below
// dir (which must exist), so that a container root holds the same bytes
// as the image. Device nodes are skipped (a runtime or the kernel makes
// /dev itself), but their directories are made: they are mount points.
func (a *Archive) ExtractTo(dir string) error {
	paths := make([]string, 0, len(a.entries))
	for p := range a.entries {
		paths = append(paths, p)
	}
	sort.Strings(paths) // parents before children
	for _, p := range paths {
		e := a.entries[p]
		out := filepath.Join(dir, filepath.FromSlash(p))
		perm := os.FileMode(e.mode & 0o7777)
		var err error
		switch e.mode & typeMask {
		case typeDir:
			err = os.MkdirAll(out, perm|0o700)
		case typeFile:
			if err = os.MkdirAll(filepath.Dir(out), 0o755); err == nil {
				err = os.WriteFile(out, e.data, perm)
			}
		case typeSymlink:
			if err = os.MkdirAll(filepath.Dir(out), 0o755); err == nil {
				err = os.Symlink(string(e.data), out)
			}
		default:
			err = os.MkdirAll(filepath.Dir(out), 0o755)
		}
		if err != nil {
			return fmt.Errorf("initramfs: extract %s: %w", p, err)
		}
	}
	return nil
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
