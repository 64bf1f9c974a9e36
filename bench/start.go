package bench

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/vmmlab/vmm/bench/results"
	"github.com/vmmlab/vmm/runresult"
)

// startConfig says how to run the start benchmark.
type startConfig struct {
	Workload string
	Args     []string
	Runs     int // counted rounds
	Warmup   int // rounds run first and not counted
	MemMiB   int
	CPUs     int
	Timeout  time.Duration // launch → ready limit for one run
	// ExitGrace bounds the wait for an instance to end by itself after it
	// was ready; one that does not is stopped and has no "exit" phase.
	ExitGrace time.Duration
	// StopAtReady stops each instance as soon as it is ready: an image's
	// server never ends by itself, and waiting ExitGrace for it would
	// only slow the run.
	StopAtReady bool
	// Net and Probe: an image whose ready condition is a network one
	// runs on the bench's bridge, ready when Probe says so.
	Net   *Bridge
	Probe *Ready
	// LabFault names a run result's known fault of the nested lab (nil:
	// every failure is a failure); a run it names is made again, up to
	// maxStartRetries times in a round.
	LabFault func(runresult.Result) (string, bool)
	// Progress, if set, is told before each run.
	Progress func(target string, run, of int)
}

// maxStartRetries is how many times one target's run in one round is
// made again after a known lab fault.
const maxStartRetries = 2

// runStart runs every target once per round, rotating the order each
// round so that drift hits all alike. Failures are recorded and the
// bench goes on; ctx's end stops it, keeping the samples so far.
func runStart(ctx context.Context, targets []Target, c startConfig) results.StartResults {
	res := results.StartResults{Workload: c.Workload, Runs: c.Runs, Warmup: c.Warmup}
	rounds := c.Warmup + c.Runs
	done := 0
	for r := 0; r < rounds && ctx.Err() == nil; r++ {
		order := rotate(targets, r)
		res.Order = append(res.Order, Names(order))
		for _, t := range order {
			if ctx.Err() != nil {
				break
			}
			done++
			if c.Progress != nil {
				c.Progress(t.Name(), done, rounds*len(targets))
			}
			res.Samples = append(res.Samples, startRound(ctx, t, c, r)...)
		}
	}
	return res
}

func rotate(ts []Target, r int) []Target {
	if len(ts) == 0 {
		return nil
	}
	k := r % len(ts)
	return append(append([]Target(nil), ts[k:]...), ts[:k]...)
}

// startRound is target t's run of round r: one sample, or more when a
// known lab fault ended a run and it was made again.
func startRound(ctx context.Context, t Target, c startConfig, r int) []results.StartSample {
	var out []results.StartSample
	for try := 0; ; try++ {
		s, ended, ok := startOnce(ctx, t, c)
		s.Round, s.Warmup = r, r < c.Warmup
		if s.Error != "" && ok && c.LabFault != nil {
			s.LabFault, _ = c.LabFault(ended)
		}
		out = append(out, s)
		if s.LabFault == "" || try == maxStartRetries || ctx.Err() != nil {
			return out
		}
	}
}

// startOnce runs t once, launch to exit (or to ready with StopAtReady),
// and returns the sample and, where the instance printed one, its run
// result.
func startOnce(ctx context.Context, t Target, c startConfig) (results.StartSample, runresult.Result, bool) {
	s := results.StartSample{Target: t.Name()}
	cpu0 := childrenCPU()
	lctx, cancel := context.WithTimeoutCause(ctx, c.Timeout, fmt.Errorf("not ready within %v", c.Timeout))
	defer cancel()
	in, err := launchReady(lctx, t, Spec{Workload: c.Workload, Args: c.Args, MemMiB: c.MemMiB, CPUs: c.CPUs, Net: c.Net}, c.Probe)
	if err != nil {
		s.Error = err.Error()
		ended, ok := resultOf(err)
		return s, ended, ok
	}
	s.ReadyMS = ms(in.Ready)
	if !c.StopAtReady {
		s.Note, s.Error, s.Tail = waitExit(ctx, in, c.ExitGrace)
	}
	if err := in.Stop(); err != nil && s.Error == "" {
		s.Error = "teardown: " + err.Error()
	}
	s.Phases = results.SortPhases(in.Phases())
	s.CPUMS = ms(childrenCPU() - cpu0)
	ended, ok := in.result()
	return s, ended, ok
}

// launchReady launches an instance and, with a probe (a network ready
// condition), waits until it answers on the bench's bridge: its ready
// time is then the first answer's.
func launchReady(ctx context.Context, t Target, s Spec, probe *Ready) (*Instance, error) {
	in, err := t.Launch(ctx, s)
	if err != nil || probe == nil {
		return in, err
	}
	if err := probe.probe(ctx, in.dialer(s.Net), in.Addr); err != nil {
		tail := in.Tail()
		return nil, stopFailed(in, fmt.Errorf("%s: not ready: %w: %s", t.Name(), err, lastLines(tail, 3)))
	}
	now := time.Now()
	in.Ready = now.Sub(in.Launched)
	in.mark("ready", now)
	return in, nil
}

// waitExit waits up to grace for a ready instance to end by itself and
// says how it went: a note when it had to be stopped, an error and the
// output's tail when it failed.
func waitExit(ctx context.Context, in *Instance, grace time.Duration) (note, errText, tail string) {
	wctx, cancel := context.WithTimeoutCause(ctx, grace, errors.New("did not end by itself"))
	defer cancel()
	err := in.Wait(wctx)
	switch {
	case err != nil && wctx.Err() != nil:
		return fmt.Sprintf("did not end by itself within %v after ready; stopped", grace), "", ""
	case err != nil:
		return "", err.Error(), in.Tail()
	}
	return "", "", ""
}

// childrenCPU is the user+system time of every child this process has
// waited for (getrusage RUSAGE_CHILDREN).
func childrenCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
