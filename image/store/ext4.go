package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/vmmlab/vmm/internal/overlayfs"
	"github.com/vmmlab/vmm/internal/rootdisk"
)

// Ext4 returns the image's layers flattened into one ext4 file, the
// read-only root disk every VM of the image shares, building it the
// first time (cached false) under the store's lock: mkfs.ext4 -d over
// a read-only overlay mount of the layers, so whiteouts and opaque
// directories are applied as a container would see them.
func (s *Store) Ext4(ctx context.Context, r Record) (path string, cached bool, err error) {
	path = filepath.Join(s.root, "ext4", strings.TrimPrefix(r.Digest, "sha256:")+".ext4")
	if _, err := os.Stat(path); err == nil {
		return path, true, nil
	}
	unlock, err := s.lock(true)
	if err != nil {
		return "", false, err
	}
	defer unlock()
	if _, err := os.Stat(path); err == nil { // built while we waited
		return path, true, nil
	}
	if _, err := s.readRecord(r.Digest); err != nil {
		return "", false, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", false, fmt.Errorf("image store: %w", err)
	}
	tmp, err := os.MkdirTemp(filepath.Join(s.root, "tmp"), "ext4-")
	if err != nil {
		return "", false, fmt.Errorf("image store: %w", err)
	}
	defer os.RemoveAll(tmp)
	mnt := filepath.Join(tmp, "root")
	if err := mountLayers(s.LayerDirs(r), tmp, mnt); err != nil {
		return "", false, err
	}
	out := filepath.Join(tmp, "image.ext4")
	err = rootdisk.Make(ctx, mnt, out)
	if uerr := unix.Unmount(mnt, unix.MNT_DETACH); err == nil && uerr != nil {
		err = fmt.Errorf("image store: unmount the layers: %w", uerr)
	}
	if err == nil {
		err = os.Rename(out, path)
	}
	if err != nil {
		return "", false, fmt.Errorf("image %s: its ext4: %w", r.ID(), err)
	}
	return path, false, nil
}

// mountLayers mounts layers (the bottom one first) read-only at mnt,
// with an empty directory in tmp as a second lower layer when there is
// only one (overlayfs wants two lower layers without an upper one).
func mountLayers(layers []string, tmp, mnt string) error {
	lower := layers
	if len(layers) == 1 {
		empty := filepath.Join(tmp, "empty")
		if err := os.Mkdir(empty, 0o755); err != nil {
			return err
		}
		lower = []string{empty, layers[0]}
	}
	if err := os.Mkdir(mnt, 0o755); err != nil {
		return err
	}
	if err := overlayfs.Mount(mnt, lower, "", "", unix.MS_RDONLY); err != nil {
		return fmt.Errorf("image store: %w", err)
	}
	return nil
}

// removeStaleExt4 removes the ext4 files of images the store no longer
// holds (under the exclusive lock).
func (s *Store) removeStaleExt4(recs map[string]Record) error {
	ents, err := os.ReadDir(filepath.Join(s.root, "ext4"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range ents {
		hex, _ := strings.CutSuffix(e.Name(), ".ext4")
		if _, ok := recs["sha256:"+hex]; !ok {
			if err := os.Remove(filepath.Join(s.root, "ext4", e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}
