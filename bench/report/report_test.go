package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmmlab/vmm/bench/results"
)

// synthetic builds a results file shaped like a real run.
func synthetic(shift float64) *results.Results {
	r := &results.Results{Schema: results.SchemaVersion, Started: time.Unix(0, 0), Finished: time.Unix(60, 0),
		Env:       results.Environment{Nested: true, NestedNote: "nested: outer guest under QEMU TCG", Cores: 2},
		Flags:     map[string]string{"mem": "256M", "cpus": "1"},
		Workloads: map[string]string{"hello": "abc"},
		Targets:   []results.TargetInfo{{Name: "vm", Kind: results.KindVM, Version: "vmm x"}, {Name: "vm-restore", Kind: results.KindVM, Version: "vmm x, restored"}, {Name: "crun", Kind: results.KindContainer, Version: "crun 1.8"}, {Name: "process", Kind: results.KindProcess, Version: "fork"}},
		Skipped:   []results.Unavailable{{Target: "docker", Reason: "not installed"}}}
	base := map[string]float64{"vm": 1500, "vm-restore": 300, "crun": 200, "process": 10}
	r.Start = &results.StartResults{Workload: "hello", Runs: 5}
	for round := 0; round < 5; round++ {
		for _, t := range []string{"vm", "vm-restore", "crun", "process"} {
			v := base[t]*shift + float64(round)
			r.Start.Samples = append(r.Start.Samples, results.StartSample{Target: t, Round: round, ReadyMS: v,
				Phases: []results.Phase{{Name: "ready", MS: v}, {Name: "exit", MS: v + 5}, {Name: "removed", MS: v + 9}}})
		}
	}
	r.Start.Samples = append(r.Start.Samples, results.StartSample{Target: "crun", Round: 5, Error: "boom"})
	r.Memory = []results.MemorySample{
		{Target: "vm", Kind: results.KindVM, Pss: 50 << 20, GuestConfigured: 256 << 20, GuestRss: 36 << 20, GuestPss: 36 << 20, OwnRss: 14 << 20, OwnPss: 14 << 20},
		{Target: "crun", Kind: results.KindContainer, Pss: 5 << 20, Cgroup: 2 << 20, CgroupStat: map[string]uint64{"anon": 1 << 20}},
		{Target: "process", Kind: results.KindProcess, Pss: 5 << 20},
	}
	r.Density = []results.DensityRun{
		{Target: "vm", Max: 4, Count: 4, MemAvailablePer: 45 << 20, PssPer: 44 << 20,
			LabFaults: []results.LabFault{{Attempt: 2, Fault: "delivery-triple-fault"}, {Instance: 3, Fault: "cr3-outside-ram"}}, Points: []results.DensityPoint{{N: 1, MemAvailableDrop: 45 << 20}, {N: 4, MemAvailableDrop: 180 << 20}}},
		{Target: "vm-restore", Max: 4, Count: 4, MemAvailablePer: 18 << 20, PssPer: 11 << 20, Points: []results.DensityPoint{{N: 4, MemAvailableDrop: 72 << 20}}},
		{Target: "crun", Max: 4, Count: 4, MemAvailablePer: 3 << 20, PssPer: 3 << 20, Points: []results.DensityPoint{{N: 4, MemAvailableDrop: 12 << 20}}},
		{Target: "vm-ksm", Max: 4, Count: 4, MemAvailablePer: 30 << 20, PssPer: 28 << 20, Points: []results.DensityPoint{{N: 4, MemAvailableDrop: 120 << 20}},
			Merging: []results.MergingPoint{{N: 4, Settled: true, WaitS: 62, PagesShared: 3000, PagesSharing: 12000, SavedPer: 12 << 20, MergingPer: 14 << 20,
				KsmdCPUS: 9.5, DropBefore: 168 << 20, DropAfter: 120 << 20}}},
	}
	r.Footprint = &results.Footprint{Files: []results.FootprintFile{{Target: "vm", What: "k+i", Bytes: 20 << 20}, {Target: "vm-stock", What: "k+i", Bytes: 25 << 20}, {Target: "containers", What: "root", Bytes: 30 << 20}},
		LargeImage: &results.LargeImageRun{Target: "crun", ImageBytes: 100 << 20, N: 3, Started: 3, BundleBytes: 12 << 10, DiskTotal: 100<<20 + 12<<10}}
	return r
}

func TestWriteReports(t *testing.T) {
	dir := t.TempDir()
	if err := WriteReports(dir, synthetic(1)); err != nil {
		t.Fatal(err)
	}
	md, _ := os.ReadFile(filepath.Join(dir, "report.md"))
	for _, want := range []string{"nested: outer guest under QEMU TCG", "## The claims, measured", "| vm | 5 | 0 | 1502",
		"| crun | 5 | 1 |", "**docker** skipped: not installed", "does not hold for a microVM", "holds on disk",
		"Restarting a VM can take several minutes", "vm-restore ÷ vm 0.20×",
		"PSS 0.25×, MemAvailable drop 0.40×", "clones of one snapshot cost 6.0× a container", "vm-restore: 4 answering",
		"| 2 (launch 2: delivery-triple-fault; instance 3: cr3-outside-ram) |",
		"with same-page merging (vm-ksm) a microVM cost 10.0× a container", "vm-ksm: 4 answering",
		"| vm-ksm | 4 | yes | 62 s | 3000 | 12.0 MiB | 14.0 MiB | 9.5 s | 42.0 MiB → 30.0 MiB |"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	if strings.Contains(string(md), notMeasured) {
		t.Errorf("a claim stayed unmeasured although the run measured it:\n%s", md)
	}
	html, _ := os.ReadFile(filepath.Join(dir, "report.html"))
	if n := strings.Count(string(html), "<svg"); n != 4 {
		t.Errorf("report.html has %d inline charts, want 4", n)
	}
	if strings.Contains(string(html), "<?xml") || strings.Contains(string(html), "<img") {
		t.Error("report.html is not self-contained")
	}
	for _, f := range []string{"start", "phases", "memory", "density"} {
		for _, ext := range []string{".svg", ".png"} {
			if st, err := os.Stat(filepath.Join(dir, f+ext)); err != nil || st.Size() == 0 {
				t.Errorf("%s%s: %v", f, ext, err)
			}
		}
	}
	back, err := results.ReadResults(filepath.Join(dir, "results.json"))
	if err != nil || len(back.Start.Samples) != 21 {
		t.Fatalf("results.json round trip: %v", err)
	}
}

func TestCompare(t *testing.T) {
	same := Compare(synthetic(1), synthetic(1))
	for _, c := range same {
		if c.Beyond {
			t.Errorf("identical runs: %s flagged", c.Metric)
		}
	}
	shifted := Compare(synthetic(1), synthetic(2))
	found := false
	for _, c := range shifted {
		if c.Metric == "vm start median" {
			found = c.Beyond && c.B > c.A
		}
	}
	if !found {
		t.Errorf("doubling every start time was not flagged: %+v", shifted)
	}
	if s := FormatComparison(shifted); !strings.Contains(s, "**yes**") || !strings.Contains(s, "MAD") {
		t.Errorf("table:\n%s", s)
	}
}

// vm-stock's version says when it boots an unpacked kernel, and the
// report tells the reader.
func TestVMStockUnpacked(t *testing.T) {
	r := synthetic(1)
	r.Targets = append(r.Targets, results.TargetInfo{Name: "vm-stock", Kind: results.KindVM, Version: "vmm x, kernel 6.1, vmm boot --unpack-kernel /c"})
	out := t.TempDir()
	if err := WriteReports(out, r); err != nil {
		t.Fatal(err)
	}
	if md, _ := os.ReadFile(filepath.Join(out, "report.md")); !strings.Contains(string(md), "vm-stock boots Debian's bzImage with `vmm boot --unpack-kernel`") {
		t.Error("the report does not say that vm-stock boots its kernel unpacked")
	}
}

// The figures the docs quote are the run's: each named number, the
// README's tables and the excerpt, rendered as the report renders them.
func TestFigures(t *testing.T) {
	r := synthetic(1)
	r.Env.VMMRevision = "vmm 0123456789ab (Go heap on transparent huge pages: off)"
	f := Figures(r).Values
	for name, want := range map[string]string{
		"start.vm.ready": "1.50 s", "start.vm.vs_crun": "7.44×", "memory.vm.pss": "50.0 MiB", "memory.vm.own": "14.0 MiB",
		"memory.vm.guest": "36.0 MiB", "restore.vs_cold": "0.20×", "density.vm-restore.each": "18.0 MiB", "density.crun.count": "4",
	} {
		if f[name] != want {
			t.Errorf("%s = %q, want %q", name, f[name], want)
		}
	}
	for name, want := range map[string]string{
		"table.headline":        "| vm (vmm, minimal kernel) | 1.50 s | 7.44× | 50.0 MiB |\n| vm-restore (from a snapshot) | 302 ms |",
		"table.claims":          "| Restarting a VM can take several minutes | does not hold:",
		"table.claims_measured": "| claim | measured in this run | verdict |",
		"report.excerpt":        "- **vm** ready in 1.50 s (median of 5, 0 failed), 7.44× crun; idle http PSS 50.0 MiB.\n",
		"run":                   "vmm 0123456, 1970-01-01, 5 rounds, nested lab",
		"density.clones":        "Clones restored from one snapshot cost 0.40× a cold-booted VM (6.00× a container)",
	} {
		if !strings.Contains(f[name], want) {
			t.Errorf("%s lacks %q:\n%s", name, want, f[name])
		}
	}
	if _, ok := f["peer.vm_qemu"]; ok {
		t.Error("a ratio against qemu, which did not run")
	}
}

// A restore's verdict without a cold boot in the run compares it with
// crun alone (it said "+Inf× its cold boot's time").
func TestRestoreVerdictWithoutColdBoot(t *testing.T) {
	r := synthetic(1)
	var kept []results.StartSample
	for _, s := range r.Start.Samples {
		if s.Target != "vm" {
			kept = append(kept, s)
		}
	}
	r.Start.Samples = kept
	for _, c := range Claims(r) {
		if strings.HasPrefix(c.Claim, "Restarting") && (strings.Contains(c.Verdict, "Inf") || !strings.Contains(c.Verdict, "crun's time")) {
			t.Errorf("verdict %q", c.Verdict)
		}
	}
}

// A run of container targets alone gives no verdict on a claim about VMs.
func TestContainerOnlyRunJudgesNoVMClaim(t *testing.T) {
	r := synthetic(1)
	var kept []results.StartSample
	for _, s := range r.Start.Samples {
		if s.Target == "crun" || s.Target == "process" {
			kept = append(kept, s)
		}
	}
	r.Start.Samples, r.Memory, r.Footprint = kept, r.Memory[1:], nil
	r.Density = r.Density[2:]
	for _, c := range Claims(r) {
		if strings.HasPrefix(c.Claim, "VMs take minutes") || strings.HasPrefix(c.Claim, "5-20 VMs") || strings.HasPrefix(c.Claim, "VMs need") {
			if !strings.HasPrefix(c.Verdict, notMeasured) {
				t.Errorf("%q: verdict %q from a run with no VM", c.Claim, c.Verdict)
			}
		}
	}
}
