package bench

import (
	"context"
	"errors"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/vmmlab/vmm/bench/results"
	"github.com/vmmlab/vmm/runresult"
)

// A launch whose process printed vmm's run result and ended carries that
// result in its error; one that printed none carries nothing.
func TestFailedLaunchCarriesResult(t *testing.T) {
	line := `{"reason":"crashed","cause":"triple-fault","detail":"guest reset","exit_code":1}`
	_, err := startProcFor(context.Background(), exec.Command("sh", "-c", "echo booting; echo '"+line+"' >&2; exit 1"), &Instance{}, "never printed")
	r, ok := resultOf(err)
	if err == nil || !ok || r.Cause != runresult.CauseTripleFault {
		t.Fatalf("error %v: result %+v, %v", err, r, ok)
	}
	if name, ok := LabFaultOf(r); !ok || name == "" {
		t.Errorf("a triple fault is not a known lab fault: %q", name)
	}
	_, err = startProcFor(context.Background(), exec.Command("sh", "-c", "echo no result; exit 1"), &Instance{}, "never printed")
	if _, ok := resultOf(err); err == nil || ok {
		t.Errorf("a process that printed no result: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err = startProcFor(ctx, exec.Command("sh", "-c", "trap 'echo '\\''"+line+"'\\'' >&2; exit 1' TERM; while :; do sleep 0.05; done"), &Instance{}, "never printed")
	if r, ok := resultOf(err); err == nil || !ok || r.Reason != runresult.Crashed {
		t.Errorf("a stuck process stopped at the deadline: %v (result %+v)", err, r)
	}
}

// faultyTarget fails the launches fail names with the run result it
// gives and runs the others on the real target.
type faultyTarget struct {
	Target
	fail    map[int]runresult.Result
	attempt int
}

// httpdTarget is a crun target of a busybox httpd image, ready when it
// answers on port 8080, closed when the test ends.
func httpdTarget(t *testing.T) (Target, *OCIImage) {
	t.Helper()
	layer, _ := busyboxLayer(t)
	img := &OCIImage{Name: "test", Layers: []string{layer}, Ready: Ready{Port: 8080, Path: "/"},
		Process: specs.Process{Args: []string{"busybox", "httpd", "-f", "-p", "8080", "-h", "/www"}, Cwd: "/", Env: []string{"PATH=/bin"}}}
	tg := newRuntime(Assets{OCI: img}, results.TargetCrun, t.TempDir(), false)
	t.Cleanup(func() { tg.(*ctrTarget).Close() })
	if err := tg.Check(); err != nil {
		t.Skipf("crun: %v", err)
	}
	return tg, img
}

func (f *faultyTarget) Launch(ctx context.Context, s Spec) (*Instance, error) {
	f.attempt++
	if r, ok := f.fail[f.attempt]; ok {
		return nil, withResult(errors.New("the instance ended: "+r.Detail), r, true)
	}
	return f.Target.Launch(ctx, s)
}

// A density run goes on past the failures the lab's known-fault table
// recognises, lists each, and stops at the third; an unknown failure, or
// any failure outside the lab, still ends it at once.
func TestDensityGoesOnPastLabFaults(t *testing.T) {
	tg, img := httpdTarget(t)
	triple := runresult.Result{Reason: runresult.Crashed, Cause: runresult.CauseTripleFault, Detail: "triple fault"}
	real := runresult.Result{Reason: runresult.PowerOff, Detail: "guest powered off"}
	for i, c := range []struct {
		name     string
		fail     map[int]runresult.Result
		labFault func(runresult.Result) (string, bool)
		count    int
		faults   []int
		stop     string
	}{
		{"two lab faults", map[int]runresult.Result{2: triple, 4: triple}, LabFaultOf, 3, []int{2, 4}, "reached --max 3"},
		{"the third lab fault", map[int]runresult.Result{2: triple, 3: triple, 4: triple}, LabFaultOf, 1, []int{2, 3, 4}, "3 known lab faults"},
		{"an unknown failure", map[int]runresult.Result{2: real}, LabFaultOf, 1, nil, "instance 2 failed"},
		{"outside the lab", map[int]runresult.Result{2: triple}, nil, 1, nil, "instance 2 failed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ft := &faultyTarget{Target: tg, fail: c.fail}
			run := measureDensity(context.Background(), ft, densityConfig{Max: 3, MemMiB: 64, CPUs: 1, Timeout: time.Minute,
				Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 78, byte(240 + i), 0}), 24), Image: true, Probe: &img.Ready, LabFault: c.labFault})
			var faults []int
			for _, f := range run.LabFaults {
				faults = append(faults, f.Attempt)
				if f.Fault == "" || !strings.Contains(f.Detail, "triple fault") {
					t.Errorf("lab fault %+v", f)
				}
			}
			if run.Count != c.count || len(run.Points) != c.count || run.StopReason != c.stop || len(run.Leftovers) != 0 || !equalInts(faults, c.faults) {
				t.Errorf("run: %d answering, %d points, stopped: %q, lab faults at %v, leftovers %v; want %d, %q, %v",
					run.Count, len(run.Points), run.StopReason, faults, run.Leftovers, c.count, c.stop, c.faults)
			}
			if (len(run.Failures) == 0) != (c.stop != "instance 2 failed") {
				t.Errorf("failures %q", run.Failures)
			}
			for j, p := range run.Points {
				if p.N != j+1 {
					t.Errorf("point %d counts %d instances", j, p.N)
				}
			}
		})
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A start run that a known lab fault ended is made again in its round, up
// to maxStartRetries times, and is neither counted nor a failure; any
// other failure, or one outside the lab, stays a failure.
func TestStartRunsAgainAfterLabFault(t *testing.T) {
	tg, img := httpdTarget(t)
	br, probe, err := imageNet(img, netip.MustParsePrefix("10.78.239.0/24"))
	if err != nil {
		t.Fatal(err)
	}
	defer closeImageNet(br)
	triple := runresult.Result{Reason: runresult.Crashed, Cause: runresult.CauseTripleFault, Detail: "triple fault"}
	real := runresult.Result{Reason: runresult.PowerOff, Detail: "guest powered off"}
	for _, c := range []struct {
		name                 string
		fail                 map[int]runresult.Result
		labFault             func(runresult.Result) (string, bool)
		counted, failed, lab int
	}{
		{"one lab fault", map[int]runresult.Result{1: triple}, LabFaultOf, 2, 0, 1},
		{"a fault on every try", map[int]runresult.Result{1: triple, 2: triple, 3: triple}, LabFaultOf, 1, 0, 3},
		{"an unknown failure", map[int]runresult.Result{1: real}, LabFaultOf, 1, 1, 0},
		{"outside the lab", map[int]runresult.Result{1: triple}, nil, 1, 1, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			ft := &faultyTarget{Target: tg, fail: c.fail}
			res := runStart(context.Background(), []Target{ft}, startConfig{Workload: "test", Runs: 2, MemMiB: 64, CPUs: 1,
				Timeout: time.Minute, StopAtReady: true, Net: br, Probe: probe, LabFault: c.labFault})
			name := results.TargetCrun
			if n, f, l := len(res.Counted(name)), res.Failures(name), res.LabFaults(name); n != c.counted || f != c.failed || l != c.lab {
				t.Errorf("%d counted, %d failed, %d lab faults; want %d, %d, %d: %+v", n, f, l, c.counted, c.failed, c.lab, res.Samples)
			}
			for _, s := range res.Samples {
				if s.LabFault != "" && (s.Error == "" || s.Round != 0) {
					t.Errorf("lab fault sample %+v", s)
				}
			}
		})
	}
}
