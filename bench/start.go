package bench

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"
)

// StartConfig says how to run the start benchmark.
type StartConfig struct {
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
	// Progress, if set, is told before each run.
	Progress func(target string, run, of int)
}

// StartSample is one run of one target.
type StartSample struct {
	Target  string  `json:"target"`
	Round   int     `json:"round"`
	Warmup  bool    `json:"warmup,omitempty"`
	ReadyMS float64 `json:"ready_ms,omitempty"` // launch → ready marker
	// CPUMS is the user+system time of every process the bench waited
	// for during the run (the VMM, the runtime's commands, the workload
	// reaped as subreaper); daemons (dockerd) are not included.
	CPUMS  float64 `json:"cpu_ms,omitempty"`
	Phases []Phase `json:"phases,omitempty"`
	Note   string  `json:"note,omitempty"`
	Error  string  `json:"error,omitempty"`
	Tail   string  `json:"tail,omitempty"` // last output lines of a failed run
}

// StartResults are the start benchmark's samples, in run order.
type StartResults struct {
	Workload string        `json:"workload"`
	Runs     int           `json:"runs"`
	Warmup   int           `json:"warmup"`
	Order    [][]string    `json:"order"` // targets in the order each round ran them
	Samples  []StartSample `json:"samples"`
}

// RunStart runs every target once per round, rotating the order each
// round so that drift hits all alike. Failures are recorded and the
// bench goes on; ctx's end stops it, keeping the samples so far.
func RunStart(ctx context.Context, targets []Target, c StartConfig) StartResults {
	res := StartResults{Workload: c.Workload, Runs: c.Runs, Warmup: c.Warmup}
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
			s := startOnce(ctx, t, c)
			s.Round, s.Warmup = r, r < c.Warmup
			res.Samples = append(res.Samples, s)
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

func startOnce(ctx context.Context, t Target, c StartConfig) StartSample {
	s := StartSample{Target: t.Name()}
	cpu0 := childrenCPU()
	lctx, cancel := context.WithTimeoutCause(ctx, c.Timeout, fmt.Errorf("not ready within %v", c.Timeout))
	defer cancel()
	in, err := t.Launch(lctx, Spec{Workload: c.Workload, Args: c.Args, MemMiB: c.MemMiB, CPUs: c.CPUs})
	if err != nil {
		s.Error = err.Error()
		return s
	}
	s.ReadyMS = ms(in.Ready)
	wctx, wcancel := context.WithTimeoutCause(ctx, c.ExitGrace, errors.New("did not end by itself"))
	werr := in.Wait(wctx)
	wcancel()
	switch {
	case werr != nil && wctx.Err() != nil:
		s.Note = fmt.Sprintf("did not end by itself within %v after ready; stopped", c.ExitGrace)
	case werr != nil:
		s.Error, s.Tail = werr.Error(), in.Tail()
	}
	if err := in.Stop(); err != nil && s.Error == "" {
		s.Error = "teardown: " + err.Error()
	}
	s.Phases = sortPhases(in.Phases())
	s.CPUMS = ms(childrenCPU() - cpu0)
	return s
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

// sortPhases orders phases by time (stable: equal times keep their order).
func sortPhases(ps []Phase) []Phase {
	for i := 1; i < len(ps); i++ {
		for j := i; j > 0 && ps[j].MS < ps[j-1].MS; j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
	return ps
}

// Counted returns the counted (not warm-up), successful samples of target.
func (r StartResults) Counted(target string) []StartSample {
	var out []StartSample
	for _, s := range r.Samples {
		if s.Target == target && !s.Warmup && s.Error == "" {
			out = append(out, s)
		}
	}
	return out
}

// Failures counts target's failed counted runs.
func (r StartResults) Failures(target string) int {
	n := 0
	for _, s := range r.Samples {
		if s.Target == target && !s.Warmup && s.Error != "" {
			n++
		}
	}
	return n
}

// ReadyByRound maps round → ready time of target (counted, successful).
func (r StartResults) ReadyByRound(target string) map[int]float64 {
	out := map[int]float64{}
	for _, s := range r.Counted(target) {
		out[s.Round] = s.ReadyMS
	}
	return out
}

// Ratios are target's ready times divided by base's, round by round.
func (r StartResults) Ratios(target, base string) []float64 {
	a, b := r.ReadyByRound(target), r.ReadyByRound(base)
	var out []float64
	for round, x := range a {
		if y, ok := b[round]; ok && y > 0 {
			out = append(out, x/y)
		}
	}
	return out
}
