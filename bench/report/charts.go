package report

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/vmmlab/vmm/bench/results"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// Chart is one figure, saved as NAME.svg and NAME.png.
type Chart struct {
	Name string
	Plot *plot.Plot
}

// Charts draws the run's figures: start-time distribution per target,
// stacked phases, memory by kind, density curves.
func Charts(r *results.Results) []Chart {
	var out []Chart
	for _, c := range []struct {
		name string
		f    func(*results.Results) (*plot.Plot, error)
	}{{"start", startChart}, {"phases", phaseChart}, {"memory", memoryChart}, {"density", densityChart}} {
		p, err := c.f(r)
		if err == nil && p != nil {
			out = append(out, Chart{c.name, p})
		}
	}
	return out
}

// Save writes the chart as SVG and PNG into dir and returns the SVG.
func (c Chart) Save(dir string) ([]byte, error) {
	var svg []byte
	for _, ext := range []string{"svg", "png"} {
		w, err := c.Plot.WriterTo(8*vg.Inch, 4*vg.Inch, ext)
		if err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		if _, err := w.WriteTo(&buf); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, c.Name+"."+ext), buf.Bytes(), 0o644); err != nil {
			return nil, err
		}
		if ext == "svg" {
			svg = buf.Bytes()
		}
	}
	return svg, nil
}

// newLogPlot is a plot with a logarithmic y axis: start times span four
// orders of magnitude from a process to a VM with a stock kernel.
func newLogPlot(title, ylabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = ylabel
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	return p
}

func startChart(r *results.Results) (*plot.Plot, error) {
	rows := StartTable(r)
	if len(rows) == 0 {
		return nil, nil
	}
	p := newLogPlot("Launch → ready, every counted run (log scale)", "ms")
	var names []string // a target none of whose runs became ready gets no box, nor a place
	for _, row := range rows {
		var vals plotter.Values
		for _, s := range r.Start.Counted(row.Target) {
			vals = append(vals, s.ReadyMS)
		}
		if len(vals) == 0 {
			continue
		}
		b, err := plotter.NewBoxPlot(vg.Points(20), float64(len(names)), vals)
		if err != nil {
			return nil, err
		}
		p.Add(b)
		names = append(names, row.Target)
	}
	if len(names) == 0 {
		return nil, nil // no run became ready: nothing to draw
	}
	p.NominalX(names...)
	return p, nil
}

// labelled says whether the phase chart names a phase (all are drawn;
// naming the others would only crowd the labels).
func labelled(phase string) bool {
	switch phase {
	case "machine built", "init (boot timer)", "create done", "start done", "ready":
		return true
	}
	return false
}

// labelGap is how far apart, as a ratio of times, two phase labels of
// one target must be on the chart's log scale not to overlap.
const labelGap = 1.25

// phaseLabels are the labels the phase chart writes beside a target's
// phases: the labelled ones, with those too close to the one before
// (within labelGap) joined to it in one label, as runc's "start done"
// and "ready" once overlapped.
func phaseLabels(phases []results.Phase) []results.Phase {
	var out []results.Phase
	for _, ph := range results.SortPhases(append([]results.Phase(nil), phases...)) {
		if ph.MS <= 0 || !labelled(ph.Name) {
			continue
		}
		if n := len(out); n > 0 && ph.MS < out[n-1].MS*labelGap {
			out[n-1].Name += ", " + ph.Name
			continue
		}
		out = append(out, ph)
	}
	return out
}

func phaseChart(r *results.Results) (*plot.Plot, error) {
	rows := StartTable(r)
	if len(rows) == 0 {
		return nil, nil
	}
	p := newLogPlot("Median time of each phase since launch", "ms since launch (log scale)")
	var names []string
	drawn := false
	for i, row := range rows {
		names = append(names, row.Target)
		pts := plotter.XYs{}
		for _, ph := range row.Phases {
			if ph.MS > 0 {
				pts = append(pts, plotter.XY{X: float64(i), Y: ph.MS})
			}
		}
		if len(pts) == 0 {
			continue
		}
		line, scatter, err := plotter.NewLinePoints(pts)
		if err != nil {
			return nil, err
		}
		line.Color = plotutil.Color(i)
		scatter.Color = plotutil.Color(i)
		p.Add(line, scatter)
		drawn = true
		for _, ph := range phaseLabels(row.Phases) {
			l, err := plotter.NewLabels(plotter.XYLabels{XYs: plotter.XYs{{X: float64(i) + 0.05, Y: ph.MS}}, Labels: []string{ph.Name}})
			if err == nil {
				p.Add(l)
			}
		}
	}
	if !drawn {
		return nil, nil // no phase was timed: nothing to draw
	}
	p.NominalX(names...)
	return p, nil
}

func memoryChart(r *results.Results) (*plot.Plot, error) {
	var names []string
	var guest, own, other plotter.Values
	for _, m := range r.Memory {
		if m.Error != "" {
			continue
		}
		names = append(names, m.Target)
		g, o := float64(m.GuestPss), float64(m.OwnPss)
		rest := float64(m.Pss) - g - o
		if m.GuestConfigured == 0 {
			g, o, rest = 0, 0, float64(max(m.Pss, m.Cgroup))
		}
		guest, own, other = append(guest, g/(1<<20)), append(own, o/(1<<20)), append(other, rest/(1<<20))
	}
	if len(names) == 0 {
		return nil, nil
	}
	p := plot.New()
	p.Title.Text = "Idle http instance: host memory by kind (PSS; containers: max of PSS and cgroup)"
	p.Y.Label.Text = "MiB"
	w := vg.Points(18)
	bg, err := plotter.NewBarChart(guest, w)
	if err != nil {
		return nil, err
	}
	bo, _ := plotter.NewBarChart(own, w)
	br, _ := plotter.NewBarChart(other, w)
	bg.Color, bo.Color, br.Color = plotutil.Color(0), plotutil.Color(1), plotutil.Color(2)
	bo.StackOn(bg)
	br.StackOn(bo)
	p.Add(bg, bo, br)
	p.Legend.Add("guest RAM touched", bg)
	p.Legend.Add("VMM's own mappings", bo)
	p.Legend.Add("container / process", br)
	p.Legend.Top, p.Legend.Left = true, true
	p.NominalX(names...)
	return p, nil
}

func densityChart(r *results.Results) (*plot.Plot, error) {
	if len(r.Density) == 0 {
		return nil, nil
	}
	p := plot.New()
	p.Title.Text = "Density: host MemAvailable drop as instances start"
	p.X.Label.Text = "instances answering HTTP"
	p.Y.Label.Text = "MemAvailable drop (MiB)"
	for i, d := range r.Density {
		pts := plotter.XYs{{X: 0, Y: 0}}
		for _, pt := range d.Points {
			pts = append(pts, plotter.XY{X: float64(pt.N), Y: float64(pt.MemAvailableDrop) / (1 << 20)})
		}
		line, scatter, err := plotter.NewLinePoints(pts)
		if err != nil {
			return nil, err
		}
		line.Color, scatter.Color = plotutil.Color(i), plotutil.Color(i)
		p.Add(line, scatter)
		p.Legend.Add(fmt.Sprintf("%s (%d)", d.Target, d.Count), line, scatter)
	}
	p.Legend.Top = true
	p.Legend.Left = true
	return p, nil
}
