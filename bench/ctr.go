package bench

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/vmmlab/vmm/bench/results"
	"github.com/vmmlab/vmm/cgroup"
	"github.com/vmmlab/vmm/container"
)

// ctrTarget runs the workload under an OCI runtime binary (crun, runc,
// runsc) through package container, over the shared read-only root.
type ctrTarget struct {
	name     string
	a        Assets
	mode     cgroup.Mode
	rt       *container.Runtime
	err      error
	stateDir string
	noPivot  bool
	seq      int
}

// newRuntime is the target for OCI runtime name. noPivot is for hosts
// whose root is an initramfs (the lab's outer guest).
func newRuntime(a Assets, name, stateDir string, noPivot bool) Target {
	t := &ctrTarget{name: name, a: a, stateDir: stateDir, noPivot: noPivot}
	if t.mode, t.err = cgroup.DetectMode(cgroup.Root); t.err != nil {
		return t
	}
	if t.rt, t.err = container.Find(name, t.mode); t.err == nil {
		t.rt.NoPivot = t.rt.NoPivot || noPivot && name != results.TargetRunsc // runsc has no --no-pivot: its root is its own kernel's
	}
	return t
}

func (t *ctrTarget) Name() string       { return t.name }
func (t *ctrTarget) Kind() results.Kind { return results.KindContainer }
func (t *ctrTarget) Check() error {
	if img := t.a.OCI; img != nil && img.Ready.network() && t.name == results.TargetRunsc {
		return fmt.Errorf("--ready %s: runsc has no network in the bench yet", img.Ready)
	}
	return t.err
}
func (t *ctrTarget) Version() string {
	if t.rt == nil {
		return "unavailable"
	}
	return t.rt.Version
}

// Close releases the runtime's helper thread.
func (t *ctrTarget) Close() error {
	if t.rt != nil {
		t.rt.Close()
	}
	// the image roots' directory, once every root in it is gone (one
	// left behind keeps it, and the bench's teardown check reports it)
	if err := os.Remove(t.imageRoots()); err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTEMPTY) {
		return err
	}
	return nil
}

// imageRoots holds the roots of an OCI image's containers.
func (t *ctrTarget) imageRoots() string { return filepath.Join(t.stateDir, "image-roots") }

func (t *ctrTarget) Launch(ctx context.Context, s Spec) (*Instance, error) {
	if t.err != nil {
		return nil, t.err
	}
	t.seq++
	id := fmt.Sprintf("vmmbench-%d-%d", os.Getpid(), t.seq)
	cfg := container.Config{ID: id, Args: append([]string{"/bin/" + s.Workload}, s.Args...), Group: "/vmmbench/" + id,
		Rootfs: t.a.Rootfs, MemLimit: int64(s.MemMiB) << 20, Pids: 1024, CPUs: float64(s.CPUs)}
	opts := container.StartOptions{StateDir: t.stateDir, Marker: markerText}
	if s.Net != nil {
		opts.Network = s.Net.net
	}
	removeRoot, upper := func() error { return nil }, ""
	if img := t.a.OCI; img != nil {
		ov, remove, err := imageRoot(t.rt, t.imageRoots(), id, img.Layers)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t.name, err)
		}
		proc := img.Process
		cfg.Rootfs, cfg.Process, cfg.Args, cfg.Writable, removeRoot, upper = ov.Root, &proc, proc.Args, true, remove, ov.Upper
		opts.Marker = img.Ready.Log // "" for a network condition, which the bench probes
	}
	ct, err := t.rt.Start(ctx, cfg, opts)
	if err != nil {
		removeRoot()
		return nil, fmt.Errorf("%s: %w", t.name, err)
	}
	in := &Instance{Launched: ct.Launched, Cgroup: cgroup.MemoryDir(cgroup.Root, t.mode, cfg.Group), Upper: upper}
	in.ops = &ctrOps{ct: ct, in: in, removeRoot: removeRoot}
	in.mark("create done", ct.Created)
	in.mark("start done", ct.Started)
	if ct.Addr.IsValid() {
		in.Addr = ct.Addr.Addr()
	}
	if opts.Marker == "" {
		return in, nil
	}
	if ct.MarkerAfter == 0 {
		out := ct.Output()
		in.ops.stop()
		return nil, fmt.Errorf("%s: the workload ended without its ready marker: %s", t.name, lastLines(out, 5))
	}
	in.Ready = ct.MarkerAfter
	in.mark("ready", ct.Launched.Add(ct.MarkerAfter))
	return in, nil
}

type ctrOps struct {
	ct         *container.Container
	in         *Instance
	removeRoot func() error // an image's root, after the container
}

func (o *ctrOps) wait(ctx context.Context) error {
	exit, err := o.ct.Wait(ctx, nil)
	if err != nil {
		return err
	}
	if exit.Code != 0 || exit.Signal != "" || exit.OOMKilled {
		return fmt.Errorf("workload %s: %s", exit, lastLines(o.ct.Output(), 5))
	}
	return nil
}

func (o *ctrOps) stop() error {
	return errors.Join(o.ct.Stop(), o.removeRoot())
}
func (o *ctrOps) pids() []int           { return cgroup.Procs(o.in.Cgroup) }
func (o *ctrOps) late() []results.Phase { return nil }
func (o *ctrOps) tail() string          { return o.ct.Output() }
