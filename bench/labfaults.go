package bench

import (
	"errors"
	"fmt"
	"strings"

	"github.com/vmmlab/vmm/bench/results"
	"github.com/vmmlab/vmm/lab/labfault"
	"github.com/vmmlab/vmm/runresult"
)

// endedError is a launch that failed, with the run result the instance's
// VMM printed when it ended (vmm --json): what a density run asks to tell
// the nested lab's known faults from real failures.
type endedError struct {
	err    error
	result runresult.Result
}

func (e *endedError) Error() string { return e.err.Error() }
func (e *endedError) Unwrap() error { return e.err }

// withResult attaches r to err when there is one.
func withResult(err error, r runresult.Result, ok bool) error {
	if !ok {
		return err
	}
	return &endedError{err: err, result: r}
}

// resultOf is the run result a failed launch carries, if any.
func resultOf(err error) (runresult.Result, bool) {
	var e *endedError
	if errors.As(err, &e) {
		return e.result, true
	}
	return runresult.Result{}, false
}

// resultHolder is an instance whose VMM prints a run result when it ends.
type resultHolder interface {
	result() (runresult.Result, bool)
}

// result is the run result in printed when it ended; false while it runs
// or when it printed none (a container, a process).
func (in *Instance) result() (runresult.Result, bool) {
	if h, ok := in.ops.(resultHolder); ok {
		return h.result()
	}
	return runresult.Result{}, false
}

// stopFailed stops in after a launch that failed with err and returns err
// with in's run result.
func stopFailed(in *Instance, err error) error {
	in.Stop()
	r, ok := in.result()
	return withResult(err, r, ok)
}

// LabFaultOf names the nested lab's known fault a run result shows
// (package labfault's table, shared with the lab's tests), or says false.
// A density run in the lab records such a failure and goes on; the
// table's triple fault is not confirmed by the outer kernel's KVM trace
// here, as the lab's tests do, so the report lists each one.
func LabFaultOf(r runresult.Result) (string, bool) {
	f, ok := labfault.Classify(r)
	return f.Name, ok
}

// excuse records err, instance attempt's failure, in run when c.LabFault
// names it a known lab fault, and returns nil; any other failure is
// returned as it is.
func (c densityConfig) excuse(run *results.DensityRun, attempt int, err error) error {
	if c.LabFault == nil {
		return fmt.Errorf("instance %d: %w", attempt, err)
	}
	r, ok := resultOf(err)
	if !ok {
		return fmt.Errorf("instance %d: %w", attempt, err)
	}
	name, ok := c.LabFault(r)
	if !ok {
		return fmt.Errorf("instance %d: %w", attempt, err)
	}
	run.LabFaults = append(run.LabFaults, results.LabFault{Attempt: attempt, Fault: name, Detail: lastLines(err.Error(), 1)})
	return nil
}

// reapDead removes the instances of live that ended although they
// should idle: each one that ended in a known lab fault is recorded in
// run and stopped; any other ends the run with an error, as a density
// count only holds while every instance lives.
func (c densityConfig) reapDead(run *results.DensityRun, live []*Instance) ([]*Instance, error) {
	var kept []*Instance
	var dead []string
	for i, in := range live {
		if len(in.PIDs()) > 0 {
			kept = append(kept, in)
			continue
		}
		r, ok := in.result()
		name := ""
		if ok && c.LabFault != nil {
			name, ok = c.LabFault(r)
		}
		if ok && name != "" {
			run.LabFaults = append(run.LabFaults, results.LabFault{Instance: i + 1, Fault: name, Detail: r.Detail})
			in.Stop()
			continue
		}
		dead = append(dead, fmt.Sprintf("instance %d ended: %s", i+1, lastLines(in.Tail(), 8)))
	}
	if len(dead) > 0 {
		return live, errors.New(strings.Join(dead, "; "))
	}
	return kept, nil
}
