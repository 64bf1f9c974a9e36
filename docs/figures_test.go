package docs

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/vmmlab/vmm/docs/figures"
)

var updateFigures = flag.Bool("update-figures", false, "rewrite the figures README.md and docs/ quote from docs/figures.json")

// Every figure the README and the docs quote is docs/figures.json's, the
// file `vmm bench report --figures` wrote from one bench run; after a new
// run, go test ./docs -run Figures -update-figures rewrites the quotes.
func TestFiguresAreTheRunsFigures(t *testing.T) {
	s, err := figures.Read("figures.json")
	if err != nil {
		t.Fatal(err)
	}
	pages, _ := filepath.Glob("*.md")
	claims, _ := filepath.Glob("claims/*.md")
	pages = append(append(pages, claims...), "../README.md")
	quoted := map[string]bool{}
	for _, p := range pages {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		page := string(b)
		if *updateFigures {
			if up := s.Update(page); up != page {
				if err := os.WriteFile(p, []byte(up), 0o644); err != nil {
					t.Fatal(err)
				}
				page = up
			}
		}
		for _, bad := range s.Check(page) {
			t.Errorf("%s: %s (go test ./docs -run Figures -update-figures)", p, bad)
		}
		for _, q := range figures.Quotes(page) {
			quoted[q.Name] = true
		}
	}
	for _, must := range []string{"table.headline", "table.claims", "run"} {
		if !quoted[must] {
			t.Errorf("no page quotes %s", must)
		}
	}
}
