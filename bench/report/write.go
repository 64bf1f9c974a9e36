package report

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/vmmlab/vmm/bench/results"
)

// WriteReports writes results.json, the charts (SVG and PNG), report.md,
// a self-contained report.html (charts inline) and figures.json (what
// the docs quote) into dir: both reports are renderings of the one
// document Build makes.
func WriteReports(dir string, r *results.Results) error {
	if err := results.WriteResults(filepath.Join(dir, "results.json"), r); err != nil {
		return err
	}
	svgs := map[string][]byte{}
	for _, c := range Charts(r) {
		svg, err := c.Save(dir)
		if err != nil {
			return fmt.Errorf("chart %s: %w", c.Name, err)
		}
		svgs[c.Name+".svg"] = svg
	}
	if err := Figures(r).Write(filepath.Join(dir, "figures.json")); err != nil {
		return err
	}
	doc := Build(r)
	if err := os.WriteFile(filepath.Join(dir, "report.md"), []byte(doc.Markdown()), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "report.html"), []byte(doc.HTML(svgs)), 0o644)
}
