package bench

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"

	"github.com/vmmlab/vmm/bench/results"
)

// runApps measures each application image of o.Apps on the chosen
// targets that can run it, after the workloads' targets were closed
// (docker's daemon directory is the same).
func runApps(ctx context.Context, o Options, step func(phase string) func(string, int, int)) []results.AppRun {
	var out []results.AppRun
	for i, img := range o.Apps {
		if ctx.Err() != nil {
			break
		}
		// a /24 of its own, apart from the density runs' 10.77.x.0/24
		prefix := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 78, byte(i), 0}), 24)
		out = append(out, runApp(ctx, o, img, prefix, step))
	}
	return out
}

// runApp is one image's start (each instance stopped at ready: a server
// never ends by itself), one idle instance's memory per target, and
// o.AppN instances at once per density target.
func runApp(ctx context.Context, o Options, img *OCIImage, prefix netip.Prefix, step func(phase string) func(string, int, int)) results.AppRun {
	run := results.AppRun{Image: img.Name, ID: img.ID, Ready: img.Ready.String(), Workload: img.Workload, Disk: imageDisk(img, o.Apps)}
	plain := o.Assets
	o.Assets.OCI = img
	all := AllTargets(o)
	defer closeTargets(all)
	chosen, err := selectTargets(all, o.Targets)
	if err != nil { // Run checked the names already
		run.Skipped = append(run.Skipped, results.Unavailable{Target: "all", Reason: err.Error()})
		return run
	}
	ready, skipped := checkTargets(chosen)
	run.Skipped = append(run.Skipped, skipped...)
	if err := appStartMemory(ctx, o, &run, slices.Concat(ready, baselines(plain, img, ready)), ready, prefix, step); err != nil {
		run.Skipped = append(run.Skipped, results.Unavailable{Target: "all", Reason: err.Error()})
		return run
	}
	if ctx.Err() == nil && o.AppN > 0 {
		run.Density = appDensity(ctx, o, img, ready, prefix, step("density "+filepath.Base(img.Name)))
	}
	for _, d := range run.Density {
		run.Leftovers = append(run.Leftovers, d.Leftovers...)
	}
	return run
}

// appStartMemory runs the image's start on starters and its memory on
// ready, on a bridge of prefix when its ready condition is a network one.
func appStartMemory(ctx context.Context, o Options, run *results.AppRun, starters, ready []Target, prefix netip.Prefix, step func(phase string) func(string, int, int)) error {
	img := o.Assets.OCI
	br, probe, err := imageNet(img, prefix)
	if err != nil {
		return err
	}
	s := runStart(ctx, starters, startConfig{Workload: img.Name + " (OCI image)", Runs: o.AppRuns, Warmup: o.Warmup, MemMiB: o.MemMiB, CPUs: o.CPUs,
		Timeout: o.Timeout, ExitGrace: o.Timeout / 2, StopAtReady: true, Net: br, Probe: probe, LabFault: o.labFault(), Progress: step("start " + filepath.Base(img.Name))})
	run.Start = &s
	if ctx.Err() == nil {
		run.Memory = runMemory(ctx, ready, memoryConfig{MemMiB: o.MemMiB, CPUs: o.CPUs, Timeout: o.Timeout, Settle: o.Settle,
			Net: br, Probe: probe, Progress: step("memory " + filepath.Base(img.Name))})
	}
	run.Leftovers = closeImageNet(br)
	return nil
}

// imageFiles are the files of img that instances of t read: the ext4
// for a vmm or QEMU VM, the layers for crun, runc and runsc; none for
// docker (its own copy, in its own store).
func imageFiles(img *OCIImage, t Target) []string {
	switch {
	case t.Kind() == results.KindVM:
		return []string{img.Ext4}
	case t.Name() == results.TargetDocker:
		return nil
	}
	return img.Layers
}

// appDensity starts o.AppN idle instances of the image at once on each
// density target that runs it, each on a /24 next to the image's own
// (prefix's third byte + 100 + the target's index), and measures the
// host memory and disk they take together.
func appDensity(ctx context.Context, o Options, img *OCIImage, ready []Target, prefix netip.Prefix, progress func(string, int, int)) []results.DensityRun {
	var out []results.DensityRun
	for j, name := range o.DensityTargets {
		t := find(ready, name)
		if t == nil || ctx.Err() != nil {
			continue
		}
		b := prefix.Addr().As4()
		b[2] = byte(100 + int(b[2])*len(o.DensityTargets) + j)
		c := densityConfig{Max: o.AppN, Budget: o.Budget, Reserve: 128 << 20, MemMiB: o.MemMiB, CPUs: o.CPUs, Timeout: o.Timeout,
			Prefix: netip.PrefixFrom(netip.AddrFrom4(b), 24), Image: true, Progress: progress, LabFault: o.labFault()}
		if img.Ready.network() {
			c.Probe = &img.Ready
		}
		c.Cached = imageFiles(img, t)
		out = append(out, measureDensity(ctx, t, c))
	}
	return out
}

// imageNet is the bridge and probe of an image whose ready condition is
// a network one (nil, nil otherwise): each instance gets an address on
// the bridge, in a private network namespace, with prefix.
func imageNet(img *OCIImage, prefix netip.Prefix) (*Bridge, *Ready, error) {
	if !img.Ready.network() {
		return nil, nil, nil
	}
	br, err := newBridge(prefix)
	if err != nil {
		return nil, nil, fmt.Errorf("bridge: %w", err)
	}
	return br, &img.Ready, nil
}

// closeImageNet removes the bridge and says what was left behind.
func closeImageNet(br *Bridge) []string {
	if br == nil {
		return nil
	}
	left := br.Leftovers()
	if err := br.Close(); err != nil {
		left = append(left, "bridge: "+err.Error())
	}
	return left
}
