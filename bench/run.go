package bench

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vmmlab/vmm/bench/results"
	"github.com/vmmlab/vmm/bench/workload"
	"github.com/vmmlab/vmm/cgroup"
	"github.com/vmmlab/vmm/runresult"
)

// Options configure a bench run (the CLI's flags).
type Options struct {
	Assets   Assets
	Targets  []string // names, or nil for all
	Workload string   // the start benchmark's workload
	Runs     int
	Warmup   int
	MemMiB   int
	CPUs     int
	Timeout  time.Duration
	Settle   time.Duration
	// Density: which targets, how many at most, and the memory budget.
	DensityTargets []string
	DensityMax     int
	Budget         int64
	// LargeImageMiB and LargeImageN size the shared-image row.
	LargeImageMiB, LargeImageN int
	Nested                     bool // running in the nested lab
	NoPivot                    bool // the host's root is an initramfs
	StateDir                   string
	Progress                   Progress
	Flags                      map[string]string
	// Apps are application images measured beside the workloads (all),
	// AppRuns counted start rounds each, AppN instances at once of each
	// on every density target (0: none).
	Apps    []*OCIImage
	AppRuns int
	AppN    int
}

// Progress is told what runs now.
type Progress interface {
	Step(phase, target string, i, n int)
}

// AllTargets builds every target in the report's order.
func AllTargets(o Options) []Target {
	a := o.Assets
	return []Target{
		newVMM(a, false), newVMMNoTHP(a), newVMMKSM(a), newVMMLean(a), newVMMPmem(a), newVMMRestore(a, false), newVMMRestore(a, true), newVMM(a, true),
		newRuntime(a, results.TargetCrun, o.StateDir, o.NoPivot), newRuntime(a, results.TargetRunc, o.StateDir, o.NoPivot), newRuntime(a, results.TargetRunsc, o.StateDir, o.NoPivot),
		newDocker(a, filepath.Join(filepath.Dir(o.StateDir), "vmm-bench-docker"), o.NoPivot),
		newProcess(a), newQEMU(a, false), newQEMU(a, true),
	}
}

// Run runs the benchmarks named in which ("all", "start", "memory",
// "density") and returns what was measured, also when ctx ends early.
func Run(ctx context.Context, o Options, which string) (*results.Results, error) {
	all := AllTargets(o)
	defer closeTargets(all)
	chosen, err := selectTargets(all, o.Targets)
	if err != nil {
		return nil, err
	}
	r := &results.Results{Schema: results.SchemaVersion, Started: time.Now(), Env: detectEnvironment(o.Assets, o.Nested), Flags: o.Flags}
	if r.Workloads, err = hashWorkloads(o.Assets); err != nil {
		return nil, err
	}
	ready, skipped := checkTargets(chosen)
	r.Skipped = skipped
	for _, t := range ready {
		r.Targets = append(r.Targets, results.TargetInfo{Name: t.Name(), Kind: t.Kind(), Version: t.Version()})
	}
	step := func(phase string) func(string, int, int) {
		return func(t string, i, n int) {
			if o.Progress != nil {
				o.Progress.Step(phase, t, i, n)
			}
		}
	}
	if which == "all" || which == "start" {
		var left []string
		if r.Start, left, err = startBench(ctx, o, ready, step("start")); err != nil {
			return nil, err
		}
		r.Teardown = append(r.Teardown, left...)
	}
	if (which == "all" || which == "memory") && ctx.Err() == nil {
		r.Memory = runMemory(ctx, ready, memoryConfig{Workload: workload.HTTP, MemMiB: o.MemMiB, CPUs: o.CPUs, Timeout: o.Timeout,
			Settle: o.Settle, Progress: step("memory")})
	}
	if (which == "all" || which == "density") && ctx.Err() == nil {
		r.Density = runDensity(ctx, o, ready, step("density"))
	}
	if which == "all" && ctx.Err() == nil {
		r.Footprint = &results.Footprint{Files: measureFiles(o.Assets, slices.ContainsFunc(ready, isVM))}
		if t := find(ready, results.TargetCrun); t != nil && o.LargeImageN > 0 {
			step("footprint")(results.TargetCrun, 1, 1)
			r.Footprint.LargeImage = runLargeImage(ctx, t, o.Assets, o.StateDir, o.LargeImageMiB, o.LargeImageN, o.Timeout)
		}
		if d, ok := find(ready, results.TargetDocker).(*dockerTarget); ok && o.LargeImageN > 0 {
			step("footprint")(results.TargetDocker, 1, 1)
			r.Footprint.Docker = d.Footprint(ctx, o.LargeImageN)
		}
	}
	closeTargets(all)
	if which == "all" && ctx.Err() == nil {
		r.Apps = runApps(ctx, o, step)
	}
	r.Teardown = append(r.Teardown, Leftovers(o.StateDir)...)
	for _, d := range r.Density {
		r.Teardown = append(r.Teardown, d.Leftovers...)
	}
	for _, a := range r.Apps {
		r.Teardown = append(r.Teardown, a.Leftovers...)
	}
	r.Interrupted = ctx.Err() != nil
	r.Finished = time.Now()
	return r, nil
}

// startBench runs the start benchmark of the workload or of the OCI
// image (each instance stopped at ready; on a bridge of its own for a
// network ready condition) and says what that bridge left behind.
func startBench(ctx context.Context, o Options, ready []Target, progress func(string, int, int)) (*results.StartResults, []string, error) {
	c := startConfig{Workload: o.Workload, Runs: o.Runs, Warmup: o.Warmup, MemMiB: o.MemMiB, CPUs: o.CPUs,
		Timeout: o.Timeout, ExitGrace: o.Timeout / 2, LabFault: o.labFault(), Progress: progress}
	if img := o.Assets.OCI; img != nil {
		var err error
		if c.Net, c.Probe, err = imageNet(img, netip.MustParsePrefix("10.78.255.0/24")); err != nil {
			return nil, nil, err
		}
		c.StopAtReady = true
	}
	s := runStart(ctx, ready, c)
	return &s, closeImageNet(c.Net), nil
}

// NeedsVMs reports whether the targets named (or "all") include a VM.
func NeedsVMs(names []string) bool {
	all := AllTargets(Options{})
	defer closeTargets(all)
	for _, t := range all {
		if isVM(t) && (slices.Contains(names, "all") || slices.Contains(names, t.Name())) {
			return true
		}
	}
	return false
}

func isVM(t Target) bool { return t.Kind() == results.KindVM }

func find(ts []Target, name string) Target {
	for _, t := range ts {
		if t.Name() == name {
			return t
		}
	}
	return nil
}

func runDensity(ctx context.Context, o Options, ready []Target, step func(string, int, int)) []results.DensityRun {
	var out []results.DensityRun
	for i, name := range o.DensityTargets {
		t := find(ready, name)
		if t == nil || ctx.Err() != nil {
			continue
		}
		// Each run gets its own /24 so that addresses are never reused.
		prefix := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 77, byte(i), 0}), 24)
		out = append(out, measureDensity(ctx, t, densityConfig{Max: o.DensityMax, Budget: o.Budget, Reserve: 128 << 20,
			MemMiB: o.MemMiB, CPUs: o.CPUs, Timeout: o.Timeout, Prefix: prefix, Progress: step, LabFault: o.labFault()}))
	}
	return out
}

// labFault is the known-fault classifier of a run in the nested lab: nil
// elsewhere, where every failure is a failure.
func (o Options) labFault() func(runresult.Result) (string, bool) {
	if !o.Nested {
		return nil
	}
	return LabFaultOf
}

// checkTargets splits ts into those that can run here and, with the
// reason, those that cannot.
func checkTargets(ts []Target) (ready []Target, skipped []results.Unavailable) {
	for _, t := range ts {
		if err := t.Check(); err != nil {
			skipped = append(skipped, results.Unavailable{Target: t.Name(), Reason: err.Error()})
			continue
		}
		ready = append(ready, t)
	}
	return ready, skipped
}

func closeTargets(ts []Target) {
	for _, t := range ts {
		if c, ok := t.(io.Closer); ok {
			c.Close()
		}
	}
}

// Leftovers lists what the bench left behind: bundles in the state
// directory, its cgroups, processes launched from its images.
func Leftovers(stateDir string) []string {
	var left []string
	if ents, err := os.ReadDir(stateDir); err == nil {
		for _, e := range ents {
			left = append(left, "bundle "+filepath.Join(stateDir, e.Name()))
		}
	}
	if mode, err := cgroup.DetectMode(cgroup.Root); err == nil {
		for _, d := range cgroup.Leftovers(cgroup.Root, mode, "/vmmbench") {
			left = append(left, "cgroup "+d)
		}
	}
	for _, pid := range children(os.Getpid()) {
		left = append(left, fmt.Sprintf("process %d (%s)", pid, procName(pid)))
	}
	return left
}

// children lists the live processes whose parent is pid (the bench is a
// child subreaper, so orphans of what it launched end up here too).
func children(pid int) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so cut at the last ')'.
		s := string(b)
		k := strings.LastIndexByte(s, ')')
		var state string
		var ppid int
		if k < 0 || k+2 > len(s) {
			continue
		}
		if _, err := fmt.Sscan(s[k+2:], &state, &ppid); err != nil || ppid != pid || state == "Z" {
			continue
		}
		if n, err := strconv.Atoi(e.Name()); err == nil {
			out = append(out, n)
		}
	}
	return out
}
