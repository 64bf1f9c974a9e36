package bench

import (
	"context"

	"github.com/vmmlab/vmm/bench/results"
)

// runApps measures each application image of o.Apps on the chosen
// targets that can run it, after the workloads' targets were closed
// (docker's daemon directory is the same).
func runApps(ctx context.Context, o Options, step func(phase string) func(string, int, int)) []results.AppRun {
	var out []results.AppRun
	for _, img := range o.Apps {
		if ctx.Err() != nil {
			break
		}
		out = append(out, runApp(ctx, o, img, step))
	}
	return out
}

// runApp is one image's start (each instance stopped at ready: a server
// never ends by itself) and one idle instance's memory per target.
func runApp(ctx context.Context, o Options, img *OCIImage, step func(phase string) func(string, int, int)) results.AppRun {
	run := results.AppRun{Image: img.Name, ID: img.ID, Ready: "log:" + img.Ready}
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
	s := runStart(ctx, ready, startConfig{Workload: img.Name + " (OCI image)", Runs: o.Runs, Warmup: o.Warmup, MemMiB: o.MemMiB, CPUs: o.CPUs,
		Timeout: o.Timeout, ExitGrace: o.Timeout / 2, StopAtReady: true, Progress: step("start " + img.Name)})
	run.Start = &s
	if ctx.Err() == nil {
		run.Memory = runMemory(ctx, ready, memoryConfig{MemMiB: o.MemMiB, CPUs: o.CPUs, Timeout: o.Timeout, Settle: o.Settle,
			Progress: step("memory " + img.Name)})
	}
	return run
}
