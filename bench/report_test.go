package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// synthetic builds a results file shaped like a real run.
func synthetic(shift float64) *Results {
	r := &Results{Schema: SchemaVersion, Started: time.Unix(0, 0), Finished: time.Unix(60, 0),
		Env:       Environment{Nested: true, NestedNote: "nested: outer guest under QEMU TCG", Cores: 2},
		Flags:     map[string]string{"mem": "256M", "cpus": "1"},
		Workloads: map[string]string{"hello": "abc"},
		Targets:   []TargetInfo{{"vm", KindVM, "vmm x"}, {"vm-restore", KindVM, "vmm x, restored"}, {"crun", KindContainer, "crun 1.8"}, {"process", KindProcess, "fork"}},
		Skipped:   []Unavailable{{"docker", "not installed"}}}
	base := map[string]float64{"vm": 1500, "vm-restore": 300, "crun": 200, "process": 10}
	r.Start = &StartResults{Workload: "hello", Runs: 5}
	for round := 0; round < 5; round++ {
		for _, t := range []string{"vm", "vm-restore", "crun", "process"} {
			v := base[t]*shift + float64(round)
			r.Start.Samples = append(r.Start.Samples, StartSample{Target: t, Round: round, ReadyMS: v,
				Phases: []Phase{{"ready", v}, {"exit", v + 5}, {"removed", v + 9}}})
		}
	}
	r.Start.Samples = append(r.Start.Samples, StartSample{Target: "crun", Round: 5, Error: "boom"})
	r.Memory = []MemorySample{
		{Target: "vm", Kind: KindVM, Pss: 50 << 20, GuestConfigured: 256 << 20, GuestRss: 36 << 20, GuestPss: 36 << 20, OwnRss: 14 << 20, OwnPss: 14 << 20},
		{Target: "crun", Kind: KindContainer, Pss: 5 << 20, Cgroup: 2 << 20, CgroupStat: map[string]uint64{"anon": 1 << 20}},
		{Target: "process", Kind: KindProcess, Pss: 5 << 20},
	}
	r.Density = []DensityRun{
		{Target: "vm", Max: 4, Count: 4, MemAvailablePer: 45 << 20, PssPer: 44 << 20, Points: []DensityPoint{{N: 1, MemAvailableDrop: 45 << 20}, {N: 4, MemAvailableDrop: 180 << 20}}},
		{Target: "vm-restore", Max: 4, Count: 4, MemAvailablePer: 18 << 20, PssPer: 11 << 20, Points: []DensityPoint{{N: 4, MemAvailableDrop: 72 << 20}}},
		{Target: "crun", Max: 4, Count: 4, MemAvailablePer: 3 << 20, PssPer: 3 << 20, Points: []DensityPoint{{N: 4, MemAvailableDrop: 12 << 20}}},
	}
	r.Footprint = &Footprint{Files: []FootprintFile{{"vm", "k+i", 20 << 20}, {"vm-stock", "k+i", 25 << 20}, {"containers", "root", 30 << 20}},
		LargeImage: &LargeImageRun{Target: "crun", ImageBytes: 100 << 20, N: 3, Started: 3, BundleBytes: 12 << 10, DiskTotal: 100<<20 + 12<<10}}
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
		"PSS 0.25×, MemAvailable drop 0.40×", "clones of one snapshot cost 6.0× a container", "vm-restore: 4 answering"} {
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
	back, err := ReadResults(filepath.Join(dir, "results.json"))
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
