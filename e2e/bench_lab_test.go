package e2e

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmmlab/vmm/bench/results"
	"github.com/vmmlab/vmm/bench/workload"
	"github.com/vmmlab/vmm/internal/kvmtest"
	"github.com/vmmlab/vmm/lab/labenv"
)

// The bench end to end, in a short mode: vm, vm-restore, crun and process through
// start, memory, density and footprint, with the report and the
// teardown checked (not the timings, which are the lab's).
func TestBenchShort(t *testing.T) {
	kvmtest.Open(t)
	vmm := kvmtest.File(t, labenv.EnvVMM)
	assets := kvmtest.File(t, labenv.EnvBench)
	micro, stock := kvmtest.File(t, labenv.EnvMicroKernel), kvmtest.File(t, labenv.EnvKernel)
	// A VM of the bench that hit one of the nested lab's known faults
	// (each failure the bench records carries vmm's own account of how
	// the VM stopped) makes the whole short bench run again.
	type benchRun struct {
		out, log string
		err      error
	}
	tr := startKVMTrace(t)
	run := retryLabFault(t, tr, "vmm bench all", labTries, func() (benchRun, string, bool) {
		out := filepath.Join(t.TempDir(), "run")
		ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, vmm, "bench", "all", "--assets", assets, "--kernel", micro, "--stock-kernel", stock,
			"--no-pivot", "--nested", "--targets", "vm,vm-restore,crun,process", "--runs", "2", "--warmup", "0",
			"--density-targets", "vm,vm-restore,crun", "--max", "2", "--large-image", "8M", "--large-image-n", "2", "--settle", "1s", "--out", out)
		log := &watchBuffer{}
		// progress on the console keeps the lab's idle watchdog quiet
		cmd.Stdout = io.MultiWriter(os.Stdout, log)
		cmd.Stderr = cmd.Stdout
		if err := cmd.Run(); err != nil {
			return benchRun{out, log.String(), err}, log.String(), true
		}
		failures := benchFailures(t, out)
		return benchRun{out: out}, log.String() + strings.Join(failures, "\n"), len(failures) > 0
	})
	if run.err != nil {
		t.Fatalf("vmm bench all: %v\n%s", run.err, run.log)
	}
	out := run.out
	r, err := results.ReadResults(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !r.Env.Nested || len(r.Workloads) != len(workload.Names()) {
		t.Errorf("environment %+v, workloads %v", r.Env, r.Workloads)
	}
	for _, target := range []string{"vm", "vm-restore", "crun", "process"} {
		ss := r.Start.Counted(target)
		if len(ss) != 2 || r.Start.Failures(target) != 0 {
			t.Errorf("%s: %d counted start runs, %d failures, want 2 and 0: %+v", target, len(ss), r.Start.Failures(target), r.Start.Samples)
			continue
		}
		for _, s := range ss {
			if s.ReadyMS <= 0 || !hasPhase(s.Phases, "ready") || !hasPhase(s.Phases, "removed") {
				t.Errorf("%s sample %+v", target, s)
			}
		}
	}
	for _, s := range r.Start.Counted("vm") {
		for _, p := range []string{"vmm start", "machine built", "first KVM_RUN", "init (boot timer)", "exit"} {
			if !hasPhase(s.Phases, p) {
				t.Errorf("vm run has no %q phase: %+v", p, s.Phases)
			}
		}
	}
	checkMemory(t, r)
	// vm-restore: two clones of one snapshot, each in its own namespace
	for _, target := range []string{"vm", "vm-restore", "crun"} {
		d := density(r, target)
		if d == nil || d.Count != 2 || len(d.Failures) > 0 || len(d.Leftovers) > 0 {
			t.Errorf("density %s: %+v", target, d)
		}
	}
	if r.Footprint == nil || len(r.Footprint.Files) != 3 || r.Footprint.LargeImage == nil || r.Footprint.LargeImage.Started != 2 {
		t.Errorf("footprint %+v", r.Footprint)
	}
	if len(r.Teardown) != 0 {
		t.Errorf("left behind: %v", r.Teardown)
	}
	checkReports(t, out)
	cmp, err := exec.Command(vmm, "bench", "compare", filepath.Join(out, "results.json"), filepath.Join(out, "results.json")).CombinedOutput()
	if err != nil || !strings.Contains(string(cmp), "vm start median") {
		t.Errorf("compare: %v\n%s", err, cmp)
	}
}

// benchFailures lists the failures a bench run recorded: start runs,
// memory samples and density instances.
func benchFailures(t *testing.T, out string) []string {
	t.Helper()
	r, err := results.ReadResults(filepath.Join(out, "results.json"))
	if err != nil {
		return []string{err.Error()}
	}
	var f []string
	for _, s := range r.Start.Samples {
		if s.Error != "" {
			f = append(f, fmt.Sprintf("start %s: %s", s.Target, s.Error))
		}
	}
	for _, m := range r.Memory {
		if m.Error != "" {
			f = append(f, fmt.Sprintf("memory %s: %s", m.Target, m.Error))
		}
	}
	for _, d := range r.Density {
		for _, e := range d.Failures {
			f = append(f, fmt.Sprintf("density %s: %s", d.Target, e))
		}
	}
	return f
}

func hasPhase(ps []results.Phase, name string) bool {
	for _, p := range ps {
		if p.Name == name {
			return true
		}
	}
	return false
}

func density(r *results.Results, target string) *results.DensityRun {
	for i := range r.Density {
		if r.Density[i].Target == target {
			return &r.Density[i]
		}
	}
	return nil
}

func checkMemory(t *testing.T, r *results.Results) {
	t.Helper()
	seen := map[string]bool{}
	for _, m := range r.Memory {
		seen[m.Target] = true
		switch {
		case m.Error != "":
			t.Errorf("memory %s: %s", m.Target, m.Error)
		case m.Pss == 0:
			t.Errorf("memory %s: no PSS", m.Target)
		case (m.Target == "vm" || m.Target == "vm-restore") && (m.GuestRss == 0 || m.OwnRss == 0 || m.GuestConfigured != 256<<20):
			t.Errorf("memory %s: guest %d of %d, own %d", m.Target, m.GuestRss, m.GuestConfigured, m.OwnRss)
		case (m.Target == "vm" || m.Target == "vm-restore") && (m.GuestMeminfo["MemTotal"] == 0 || m.GuestMeminfo["MemTotal"]<<10 > m.GuestConfigured ||
			m.GuestMeminfo["MemFree"] == 0 || m.GuestMeminfo["Slab"] == 0):
			t.Errorf("memory %s: the guest's own report %v", m.Target, m.GuestMeminfo)
		case m.Target == "crun" && m.Cgroup == 0:
			t.Errorf("memory crun: no cgroup charge")
		}
	}
	if len(seen) != 4 {
		t.Errorf("memory samples for %v, want vm, vm-restore, crun and process", seen)
	}
}

func checkReports(t *testing.T, out string) {
	t.Helper()
	md, err := os.ReadFile(filepath.Join(out, "report.md"))
	if err != nil || !strings.Contains(string(md), "## The claims, measured") || !strings.Contains(string(md), "nested: outer guest under QEMU TCG") {
		t.Errorf("report.md: %v\n%s", err, md)
	}
	html, err := os.ReadFile(filepath.Join(out, "report.html"))
	if err != nil || !strings.Contains(string(html), "<svg") || strings.Contains(string(html), "src=\"http") {
		t.Errorf("report.html is not self-contained with inline charts: %v", err)
	}
	for _, f := range []string{"start.svg", "start.png", "memory.svg", "memory.png", "density.svg", "phases.png"} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Errorf("chart %s: %v", f, err)
		}
	}
}
