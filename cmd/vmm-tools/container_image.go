package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/vmmlab/vmm/container"
	"github.com/vmmlab/vmm/image/process"
	"github.com/vmmlab/vmm/image/store"
)

// exitOwnFailure is docker run's status when the command line, the
// image or the runtime failed before the process ran.
const exitOwnFailure = 125

// imageOptions are vmm container run's flags for an image's process.
type imageOptions struct {
	env           []string
	user, workdir string
	entrypoint    string
	setEntrypoint bool
	readOnly      bool
}

// imageArgs splits `IMAGE [--] [ARG...]`: a "--" right after the image
// is dropped, the rest replaces the image's Cmd.
func imageArgs(args []string) (ref string, rest []string) {
	ref, rest = args[0], args[1:]
	if len(rest) > 0 && rest[0] == "--" {
		rest = rest[1:]
	}
	return ref, rest
}

// resolveImage finds ref in the store by name or, when no name matches
// and ref is a file or directory, imports it unnamed (kept by digest).
func resolveImage(ctx context.Context, s *store.Store, ref string, progress io.Writer) (store.Record, error) {
	r, err := s.Lookup(ref)
	if err == nil || !errors.Is(err, store.ErrUnknown) && !isPath(ref) {
		return r, err
	}
	if _, serr := os.Stat(ref); serr != nil {
		return r, err // neither a name nor a file: the store's error
	}
	imp, err := s.Import(ctx, ref, store.ImportOptions{Unnamed: true, Progress: progress})
	return imp.Record, err
}

// isPath is true for what can only be a file name (not an image name).
func isPath(ref string) bool {
	_, err := store.Name(ref)
	return err != nil
}

// runImage runs IMAGE [ARG...] in a container on the image's layers.
func (o containerOptions) runImage(ctx context.Context, ref string, args []string, stdout io.Writer) (container.Report, error) {
	st, err := openImageStore()
	if err != nil {
		return container.Report{}, err
	}
	rec, err := resolveImage(ctx, st, ref, o.stderr)
	if err != nil {
		return container.Report{}, err
	}
	pc, files, err := st.Process(rec)
	if err != nil {
		return container.Report{}, err
	}
	proc, err := process.Process(pc, process.Overrides{Args: args, Entrypoint: o.image.entrypoint, SetEntrypoint: o.image.setEntrypoint,
		Env: o.image.env, User: o.image.user, WorkingDir: o.image.workdir}, files)
	if err != nil {
		return container.Report{}, err
	}
	cfg, err := o.limits()
	if err != nil {
		return container.Report{}, err
	}
	cfg.Args, cfg.Process, cfg.Writable = proc.Args, &proc, !o.image.readOnly
	return o.start(ctx, cfg, stdout, func() (string, func(), error) {
		root, remove, err := o.overlayRoot(cfg.ID, st.LayerDirs(rec))
		if err == nil {
			if err = container.CheckCommand(root, proc.Args[0], proc.Cwd, proc.Env); err != nil {
				remove()
			}
		}
		return root, remove, err
	})
}

// exitCode is vmm container run IMAGE's status for an error: 127 and
// 126 for a command not found or not executable, as docker run says,
// else 125.
func exitCode(err error) int {
	switch {
	case errors.Is(err, container.ErrCommandNotFound):
		return 127
	case errors.Is(err, container.ErrCommandNotExecutable):
		return 126
	}
	return exitOwnFailure
}

// overlayRoot mounts the image's layers as the container's root, and
// returns how to remove it.
func (o containerOptions) overlayRoot(id string, layers []string) (string, func(), error) {
	roots, err := container.StateDir("image-roots")
	if err != nil {
		return "", nil, err
	}
	if err := os.MkdirAll(roots, 0o700); err != nil {
		return "", nil, err
	}
	ov, err := container.MountOverlay(filepath.Join(roots, id), layers, o.image.readOnly)
	if err != nil {
		return "", nil, err
	}
	return ov.Root, func() {
		if err := ov.Remove(); err != nil {
			fmt.Fprintln(o.stderr, "vmm container run:", err)
		}
	}, nil
}

// openImageStore opens the default image store.
func openImageStore() (*store.Store, error) {
	dir, err := store.DefaultDir()
	if err != nil {
		return nil, err
	}
	return store.Open(dir)
}
