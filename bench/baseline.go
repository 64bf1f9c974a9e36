package bench

import (
	"context"

	"github.com/vmmlab/vmm/bench/results"
)

// baselineTarget runs, on its target, the bench workload that an image
// packs (vmm bench all --app workload:NAME), from the bench's own image:
// the start the packed image's start is compared with, in the same
// rounds.
type baselineTarget struct {
	Target
	workload string
}

// Name is results.Baseline of the target's name.
func (b baselineTarget) Name() string { return results.Baseline(b.Target.Name()) }

// Launch runs the workload, whatever the spec names (the image).
func (b baselineTarget) Launch(ctx context.Context, s Spec) (*Instance, error) {
	s.Workload = b.workload
	return b.Target.Launch(ctx, s)
}

// baselines are the start targets of an image that packs a bench
// workload: the vm target once more, without the image, when it is among
// ready; none for any other image.
func baselines(a Assets, img *OCIImage, ready []Target) []Target {
	if img.Workload == "" || find(ready, results.TargetVM) == nil {
		return nil
	}
	plain := a
	plain.OCI = nil
	return []Target{baselineTarget{Target: newVMM(plain, false), workload: img.Workload}}
}
