package bench

import (
	"context"
	"errors"
	"os/exec"
	"runtime"

	"github.com/vmmlab/vmm/bench/results"
)

// markerText is what every workload's ready line contains.
const markerText = "VMM-BENCH-READY"

// processTarget runs the workload as a plain child process: fork+exec,
// the floor under every isolation technology.
type processTarget struct{ a Assets }

// newProcess is the process target.
func newProcess(a Assets) Target { return processTarget{a} }

func (processTarget) Name() string       { return results.TargetProcess }
func (processTarget) Kind() results.Kind { return results.KindProcess }
func (t processTarget) Check() error     { return checkImage(t.a, t.Name(), false) }
func (processTarget) Version() string    { return "fork+exec, " + runtime.Version() + " workloads" }

func (t processTarget) Launch(ctx context.Context, s Spec) (*Instance, error) {
	if s.Net != nil {
		return nil, errors.New("process: no private network for a plain process")
	}
	in := &Instance{}
	if _, err := startProc(ctx, exec.Command(t.a.Workload(s.Workload), s.Args...), in); err != nil {
		return nil, err
	}
	return in, nil
}
