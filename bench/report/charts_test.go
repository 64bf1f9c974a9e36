package report

import (
	"testing"

	"github.com/vmmlab/vmm/bench/results"
	"gonum.org/v1/plot"
)

// A run in which no instance became ready (every VM target failed on a
// host whose KVM cannot run them) still gets its reports: no start or
// phase chart, and no panic.
func TestChartsWhenNoRunBecameReady(t *testing.T) {
	r := synthetic(1)
	for i := range r.Start.Samples {
		r.Start.Samples[i] = results.StartSample{Target: r.Start.Samples[i].Target, Round: r.Start.Samples[i].Round, Error: "not ready"}
	}
	for _, c := range Charts(r) {
		if c.Name == "start" || c.Name == "phases" {
			t.Errorf("a %s chart drawn without a single ready run", c.Name)
		}
	}
	if err := WriteReports(t.TempDir(), r); err != nil {
		t.Fatal(err)
	}
}

// A target whose every run failed takes no place on the start chart: the
// next target's box is not drawn under its name.
func TestStartChartNamesOnlyTheTargetsItDraws(t *testing.T) {
	r := synthetic(1)
	for i, s := range r.Start.Samples {
		if s.Target == "vm" {
			r.Start.Samples[i] = results.StartSample{Target: "vm", Round: s.Round, Error: "not ready"}
		}
	}
	p, err := startChart(r)
	if err != nil || p == nil {
		t.Fatalf("start chart: %v %v", p, err)
	}
	var labels []string
	for _, tk := range p.X.Tick.Marker.(plot.ConstantTicks) {
		labels = append(labels, tk.Label)
	}
	// The boxes stand at 0, 1, ...: the last one under the last label.
	if len(labels) != 3 || labels[0] == "vm" || p.X.Min != 0 || p.X.Max != float64(len(labels)-1) {
		t.Errorf("x labels %v at 0..%d, boxes from %v to %v: want the three targets that had ready runs, each under its box",
			labels, len(labels)-1, p.X.Min, p.X.Max)
	}
}

// Labels of phases close together on the log scale are joined, not
// drawn over each other (runc's "start done" and "ready").
func TestPhaseLabels(t *testing.T) {
	got := phaseLabels([]results.Phase{{Name: "ready", MS: 1010}, {Name: "create done", MS: 300}, {Name: "start done", MS: 1000}, {Name: "exit", MS: 2000}, {Name: "machine built", MS: 0}})
	if len(got) != 2 || got[0] != (results.Phase{Name: "create done", MS: 300}) || got[1] != (results.Phase{Name: "start done, ready", MS: 1000}) {
		t.Fatalf("labels %v", got)
	}
}
