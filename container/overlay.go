package container

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/vmmlab/vmm/internal/overlayfs"
)

// Overlay is an OCI image's root for one container: the image's layers
// (directories in overlayfs form, package image/store) as read-only
// lower layers under an upper directory of the container's own, or,
// read-only, the layers alone.
type Overlay struct {
	Root string // the mount: the container's root file system
	// Upper is the directory that takes what the container writes ("" for
	// a read-only root).
	Upper string
	dir   string // the root, upper and work directories, removed with it
}

// MountOverlay mounts layers (the bottom one first) at dir/rootfs,
// writable into dir/upper unless readOnly. dir must not exist.
func MountOverlay(dir string, layers []string, readOnly bool) (*Overlay, error) {
	if len(layers) == 0 {
		return nil, errors.New("overlay: an image with no layers")
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, fmt.Errorf("overlay: %w", err)
	}
	o := &Overlay{Root: filepath.Join(dir, "rootfs"), dir: dir}
	// The top lower layer holds the runtime's mount points, as Docker's
	// init layer does: a read-only root needs them there already.
	points := filepath.Join(dir, "mountpoints")
	upper, work := "", ""
	if !readOnly {
		upper, work = filepath.Join(dir, "upper"), filepath.Join(dir, "work")
	}
	o.Upper = upper
	for _, d := range []string{o.Root, filepath.Join(dir, "upper"), filepath.Join(dir, "work"), points,
		filepath.Join(points, "proc"), filepath.Join(points, "sys"), filepath.Join(points, "dev")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("overlay: %w", err)
		}
	}
	if err := overlayfs.Mount(o.Root, append(slices.Clone(layers), points), upper, work, 0); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return o, nil
}

// Remove unmounts the root and removes what the container wrote.
func (o *Overlay) Remove() error {
	if err := unix.Unmount(o.Root, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("overlay: unmount %s: %w", o.Root, err)
	}
	return os.RemoveAll(o.dir)
}
