package report

import (
	"fmt"
	"math"
	"strings"

	"github.com/vmmlab/vmm/bench/results"
	"github.com/vmmlab/vmm/bench/stats"
)

// Change is one metric in two runs.
type Change struct {
	Metric string
	A, B   float64
	Unit   string
	// Beyond says whether the change exceeds the noise; Test says how
	// that was decided.
	Beyond bool
	Test   string
}

// Compare lines up the metrics both runs have. Start times (series of
// samples) are beyond the noise when the medians differ by more than
// three scaled MADs of the noisier run (1.4826 × MAD estimates σ);
// single readings (memory, density) have no noise estimate and are
// flagged when they differ by more than 10%.
func Compare(a, b *results.Results) []Change {
	var out []Change
	if a.Start != nil && b.Start != nil {
		for _, t := range a.Targets {
			sa, sb := readySummary(a, t.Name), readySummary(b, t.Name)
			if sa.N == 0 || sb.N == 0 {
				continue
			}
			noise := 3 * 1.4826 * math.Max(sa.MAD, sb.MAD)
			out = append(out, Change{Metric: t.Name + " start median", A: sa.Median, B: sb.Median, Unit: "ms",
				Beyond: math.Abs(sb.Median-sa.Median) > noise, Test: fmt.Sprintf("Δ beyond 3σ̂ (σ̂ = 1.4826 × MAD) = %.1f ms", noise)})
		}
	}
	single := func(metric, unit string, x, y float64) {
		if x == 0 && y == 0 {
			return
		}
		rel := math.Abs(y-x) / math.Max(math.Abs(x), 1e-9)
		out = append(out, Change{Metric: metric, A: x, B: y, Unit: unit, Beyond: rel > 0.10, Test: "one reading each: Δ beyond 10%"})
	}
	for _, m := range a.Memory {
		if n := b.MemoryOf(m.Target); n != nil && m.Error == "" {
			single(m.Target+" idle PSS", "MiB", float64(m.Pss)/(1<<20), float64(n.Pss)/(1<<20))
			if m.GuestConfigured > 0 {
				single(m.Target+" VMM own Rss", "MiB", float64(m.OwnRss)/(1<<20), float64(n.OwnRss)/(1<<20))
				single(m.Target+" guest touched", "MiB", float64(m.GuestRss)/(1<<20), float64(n.GuestRss)/(1<<20))
			}
		}
	}
	for _, d := range a.Density {
		if e := b.DensityOf(d.Target); e != nil {
			single(d.Target+" density count", "", float64(d.Count), float64(e.Count))
			single(d.Target+" MemAvailable per instance", "MiB", float64(d.MemAvailablePer)/(1<<20), float64(e.MemAvailablePer)/(1<<20))
		}
	}
	return out
}

func readySummary(r *results.Results, target string) stats.Summary {
	var xs []float64
	for _, s := range r.Start.Counted(target) {
		xs = append(xs, s.ReadyMS)
	}
	return stats.Summarize(xs)
}

// FormatComparison renders changes as a Markdown table.
func FormatComparison(cs []Change) string {
	var b strings.Builder
	b.WriteString("| metric | A | B | change | beyond the noise? | test |\n|---|---|---|---|---|---|\n")
	for _, c := range cs {
		pct := "–"
		if c.A != 0 {
			pct = fmt.Sprintf("%+.1f%%", 100*(c.B-c.A)/c.A)
		}
		verdict := "no"
		if c.Beyond {
			verdict = "**yes**"
		}
		fmt.Fprintf(&b, "| %s | %.2f %s | %.2f %s | %s | %s | %s |\n", c.Metric, c.A, c.Unit, c.B, c.Unit, pct, verdict, c.Test)
	}
	if len(cs) == 0 {
		b.WriteString("| (no metric in both runs) | | | | | |\n")
	}
	return b.String()
}
