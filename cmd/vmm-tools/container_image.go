package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/vmmlab/vmm/container"
	"github.com/vmmlab/vmm/image/process"
	"github.com/vmmlab/vmm/image/store"
	"github.com/vmmlab/vmm/privnet"
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
	stopTimeout   int // seconds
}

// errStopTimeout ends a container run whose process outlived
// --stop-timeout after a signal.
var errStopTimeout = errors.New("the process did not stop in time: killed")

// runImageCommand is vmm container run IMAGE [ARG...]: SIGINT and
// SIGTERM go to the process, as docker run's do, and --stop-timeout
// seconds after the first it is killed (exit 137).
func (o containerOptions) runImageCommand(args []string, stdout, stderr io.Writer) int {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	relay, stop := proxySignals(func() { cancel(errStopTimeout) }, time.Duration(o.image.stopTimeout)*time.Second)
	defer stop()
	o.relay = relay
	ref, rest := imageArgs(args)
	res, err := o.runImage(ctx, ref, rest, stdout)
	if err != nil {
		if errors.Is(context.Cause(ctx), errStopTimeout) {
			fmt.Fprintln(stderr, "vmm container run:", errStopTimeout)
			return 137
		}
		fmt.Fprintln(stderr, "vmm container run:", err)
		return exitCode(err)
	}
	return reportContainer(res, o.json, stderr)
}

// proxySignals relays SIGINT and SIGTERM to the returned channel and,
// timeout after the first, calls kill; stop ends the relay.
func proxySignals(kill func(), timeout time.Duration) (<-chan os.Signal, func()) {
	in, out := make(chan os.Signal, 4), make(chan os.Signal, 4)
	signal.Notify(in, os.Interrupt, syscall.SIGTERM)
	var once sync.Once
	go func() {
		for s := range in {
			once.Do(func() { time.AfterFunc(timeout, kill) })
			select {
			case out <- s:
			default: // the workload has signals enough waiting
			}
		}
	}()
	return out, func() { signal.Stop(in); close(in) }
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

// runImage runs IMAGE [ARG...] in a container on the image's layers.
func (o containerOptions) runImage(ctx context.Context, ref string, args []string, stdout io.Writer) (container.Report, error) {
	st, err := openImageStore()
	if err != nil {
		return container.Report{}, err
	}
	rec, err := st.Resolve(ctx, ref, o.stderr)
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
	o.hostNet = true // a container of an image sits on vmmbr0 beside VMs of it
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

// network is the bridge --net plugs the container into: the host bridge
// for an image's container, a private one otherwise.
func (o containerOptions) network() (*privnet.Network, error) {
	if o.hostNet {
		return hostBridge()
	}
	return privnet.New(netip.MustParsePrefix("10.0.3.0/24"))
}
