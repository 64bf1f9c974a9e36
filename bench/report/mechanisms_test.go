package report

import (
	"strings"
	"testing"

	"github.com/vmmlab/vmm/bench/results"
)

// The report pairs each memory mechanism's cold start with vm's and
// names those slower by more than 10%.
func TestMechanismCost(t *testing.T) {
	r := &results.Results{Start: &results.StartResults{Runs: 3}}
	for round := range 3 {
		for target, ms := range map[string]float64{"vm": 1000, "vm-ksm": 1250, "vm-nothp": 1050} {
			r.Start.Samples = append(r.Start.Samples, results.StartSample{Target: target, Round: round, ReadyMS: ms + float64(round)})
		}
	}
	blocks := mechanismCost(r)
	if len(blocks) != 1 {
		t.Fatalf("blocks %v", blocks)
	}
	text := string(blocks[0].(Para).Text)
	for _, want := range []string{"vm-nothp ÷ vm 1.05×", "vm-ksm ÷ vm 1.25×", "Slower than vm by more than 10%: vm-ksm. "} {
		if !strings.Contains(text, want) {
			t.Errorf("%q lacks %q", text, want)
		}
	}
	if mechanismCost(&results.Results{Start: &results.StartResults{}}) != nil {
		t.Error("a run without the mechanisms got a paragraph")
	}
}
