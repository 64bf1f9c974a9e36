package report

import (
	"fmt"
	"io"
	"math"

	"github.com/vmmlab/vmm/bench/results"
	"github.com/vmmlab/vmm/bench/stats"
)

// StartRow is one target's start statistics.
type StartRow struct {
	Target    string
	Summary   stats.Summary
	Failures  int
	VsProcess stats.Summary // paired per-round ratios
	VsCrun    stats.Summary
	CPU       stats.Summary
	Phases    []results.Phase // median ms of each phase
}

// StartTable summarises the start benchmark per target, in target order.
func StartTable(r *results.Results) []StartRow {
	if r.Start == nil {
		return nil
	}
	var rows []StartRow
	for _, t := range r.Targets {
		ss := r.Start.Counted(t.Name)
		row := StartRow{Target: t.Name, Failures: r.Start.Failures(t.Name)}
		if len(ss) == 0 && row.Failures == 0 {
			continue
		}
		var ready, cpu []float64
		phases := map[string][]float64{}
		var order []string
		for _, s := range ss {
			ready, cpu = append(ready, s.ReadyMS), append(cpu, s.CPUMS)
			for _, p := range s.Phases {
				if _, ok := phases[p.Name]; !ok {
					order = append(order, p.Name)
				}
				phases[p.Name] = append(phases[p.Name], p.MS)
			}
		}
		row.Summary, row.CPU = stats.Summarize(ready), stats.Summarize(cpu)
		row.VsProcess = stats.Summarize(r.Start.Ratios(t.Name, results.TargetProcess))
		row.VsCrun = stats.Summarize(r.Start.Ratios(t.Name, results.TargetCrun))
		for _, name := range order {
			row.Phases = append(row.Phases, results.Phase{Name: name, MS: stats.Summarize(phases[name]).Median})
		}
		row.Phases = results.SortPhases(row.Phases)
		rows = append(rows, row)
	}
	return rows
}

func f1(x float64) string {
	if math.IsNaN(x) || x == 0 {
		return "–"
	}
	if x >= 100 {
		return fmt.Sprintf("%.0f", x)
	}
	return fmt.Sprintf("%.1f", x)
}

func ratio(s stats.Summary) string {
	if s.N == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f× (%.2f–%.2f)", s.Median, s.Min, s.Max)
}

// Build makes the report's document from one run's results.
func Build(r *results.Results) *Document {
	d := &Document{}
	d.Add(Heading{1, "vmm bench: microVMs and containers, side by side"})
	if r.Env.Nested {
		d.Add(Quote{Textf("**%s.** Every VM exit is emulated in software here; read ratios between targets in this run, never absolute times.", r.Env.NestedNote)})
	}
	if r.Interrupted {
		d.Add(Quote{"**Interrupted**: the run was stopped early; what was gathered until then is below."})
	}
	summary(d, r)
	d.Add(Heading{2, "The claims, measured"}, claimsTable(r, true))
	start(d, r)
	memory(d, r)
	density(d, r)
	footprint(d, r)
	apps(d, r)
	method(d, r)
	return d
}

// claimsTable is the claims with their verdicts and, if asked, what
// was measured.
func claimsTable(r *results.Results, measured bool) Table {
	t := Table{Header: []Text{"claim", "verdict in that run"}}
	if measured {
		t.Header = []Text{"claim", "measured in this run", "verdict"}
	}
	for _, c := range Claims(r) {
		row := []Text{Text(c.Claim), Text(c.Verdict)}
		if measured {
			row = []Text{Text(c.Claim), Text(orDash(c.Measured)), Text(c.Verdict)}
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// WriteMarkdown writes report.md.
func WriteMarkdown(w io.Writer, r *results.Results) error {
	_, err := io.WriteString(w, Build(r).Markdown())
	return err
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

// dedupe keeps at most n items.
func dedupe(ls []Text, n int) []Text {
	if len(ls) > n {
		return append(ls[:n], Textf("… %d more in results.json", len(ls)-n))
	}
	return ls
}
