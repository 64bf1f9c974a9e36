package store

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"

	"github.com/vmmlab/vmm/image/process"
	"github.com/vmmlab/vmm/internal/beneath"
)

// LayerDirs are the image's layer directories, the bottom one first.
func (s *Store) LayerDirs(r Record) []string {
	out := make([]string, len(r.Layers))
	for i, l := range r.Layers {
		out[i] = s.LayerDir(l.DiffID)
	}
	return out
}

// Process is what the image's config says of its process, with the
// image's own /etc/passwd and /etc/group, for package process.
func (s *Store) Process(r Record) (process.Config, process.Files, error) {
	cf, err := v1.ParseConfigFile(bytes.NewReader(r.Config))
	if err != nil {
		return process.Config{}, process.Files{}, fmt.Errorf("image %s: its config: %w", r.ID(), err)
	}
	c := process.Config{Entrypoint: cf.Config.Entrypoint, Cmd: cf.Config.Cmd, Env: cf.Config.Env,
		WorkingDir: cf.Config.WorkingDir, User: cf.Config.User, Labels: cf.Config.Labels}
	var f process.Files
	if f.Passwd, err = s.ReadFile(r, "etc/passwd"); err != nil && !errors.Is(err, os.ErrNotExist) {
		return c, f, err
	}
	if f.Group, err = s.ReadFile(r, "etc/group"); err != nil && !errors.Is(err, os.ErrNotExist) {
		return c, f, err
	}
	return c, f, nil
}

// maxReadFile bounds what ReadFile reads (an image's passwd file).
const maxReadFile = 1 << 20

// ReadFile reads the regular file name (relative, clean) of the image's
// root as overlayfs would show it: from the top layer that has it,
// unless a layer above whites it (or a directory above it) out or makes
// a directory above it opaque. It follows no symlink.
func (s *Store) ReadFile(r Record, name string) ([]byte, error) {
	dirs := s.LayerDirs(r)
	parts := strings.Split(name, "/")
	for i := len(dirs) - 1; i >= 0; i-- {
		found, stop, err := lookInLayer(dirs[i], parts)
		if err != nil || found != nil {
			return found, err
		}
		if stop {
			break
		}
	}
	return nil, fmt.Errorf("%s: %w", name, os.ErrNotExist)
}

// lookInLayer reads parts in one layer directory: the file's bytes, or
// stop when the layer hides what is below it (a whiteout, an opaque
// directory, a file or symlink where a directory goes).
func lookInLayer(dir string, parts []string) (data []byte, stop bool, err error) {
	cur, err := beneath.OpenRoot(dir)
	if err != nil {
		return nil, false, err
	}
	defer func() { unix.Close(cur) }()
	opaque := false
	for i, p := range parts {
		var st unix.Stat_t
		if err := unix.Fstatat(cur, p, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return nil, opaque, nil // not in this layer
		}
		switch {
		case st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == 0:
			return nil, true, nil // a whiteout
		case i == len(parts)-1 && st.Mode&unix.S_IFMT != unix.S_IFREG:
			return nil, true, fmt.Errorf("%s: not a regular file", path.Join(parts...))
		case i == len(parts)-1:
			data, err := readAt(cur, p)
			return data, true, err
		case st.Mode&unix.S_IFMT != unix.S_IFDIR:
			return nil, true, nil // nothing below a non-directory shows
		}
		next, err := unix.Openat(cur, p, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, true, err
		}
		unix.Close(cur)
		cur = next
		buf := make([]byte, 1)
		if n, err := unix.Fgetxattr(cur, "trusted.overlay.opaque", buf); err == nil && n == 1 && buf[0] == 'y' {
			opaque = true
		}
	}
	return nil, opaque, nil
}

// readAt reads regular file name in dir, at most maxReadFile bytes.
func readAt(dir int, name string) ([]byte, error) {
	fd, err := unix.Openat(dir, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), filepath.Base(name))
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxReadFile+1))
	if err == nil && len(b) > maxReadFile {
		err = fmt.Errorf("%s: larger than %d bytes", name, maxReadFile)
	}
	return b, err
}
