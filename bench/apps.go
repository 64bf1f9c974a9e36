package bench

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"

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
// never ends by itself) and one idle instance's memory per target.
func runApp(ctx context.Context, o Options, img *OCIImage, prefix netip.Prefix, step func(phase string) func(string, int, int)) results.AppRun {
	run := results.AppRun{Image: img.Name, ID: img.ID, Ready: img.Ready.String(), Disk: imageDisk(img, o.Apps)}
	o.Assets.OCI = img
	all := AllTargets(o)
	defer closeTargets(all)
	chosen, err := selectTargets(all, o.Targets)
	if err != nil { // Run checked the names already
		run.Skipped = append(run.Skipped, results.Unavailable{Target: "all", Reason: err.Error()})
		return run
	}
	var ready []Target
	for _, t := range chosen {
		if err := t.Check(); err != nil {
			run.Skipped = append(run.Skipped, results.Unavailable{Target: t.Name(), Reason: err.Error()})
			continue
		}
		ready = append(ready, t)
	}
	br, probe, err := imageNet(img, prefix)
	if err != nil {
		run.Skipped = append(run.Skipped, results.Unavailable{Target: "all", Reason: err.Error()})
		return run
	}
	s := runStart(ctx, ready, startConfig{Workload: img.Name + " (OCI image)", Runs: o.AppRuns, Warmup: o.Warmup, MemMiB: o.MemMiB, CPUs: o.CPUs,
		Timeout: o.Timeout, ExitGrace: o.Timeout / 2, StopAtReady: true, Net: br, Probe: probe, Progress: step("start " + filepath.Base(img.Name))})
	run.Start = &s
	if ctx.Err() == nil {
		run.Memory = runMemory(ctx, ready, memoryConfig{MemMiB: o.MemMiB, CPUs: o.CPUs, Timeout: o.Timeout, Settle: o.Settle,
			Net: br, Probe: probe, Progress: step("memory " + filepath.Base(img.Name))})
	}
	run.Leftovers = closeImageNet(br)
	return run
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
