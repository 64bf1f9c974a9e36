package report

import (
	"slices"
	"strings"

	"github.com/vmmlab/vmm/bench/results"
	"github.com/vmmlab/vmm/bench/stats"
)

// slowerLimit is how much slower than vm a memory mechanism may make a
// cold start before the report says so.
const slowerLimit = 1.10

// mechanismCost compares the cold start of each vm variant that saves
// memory with vm's, paired per round, and says which one is slower by
// more than 10%.
func mechanismCost(r *results.Results) []Block {
	var parts, slower []string
	for _, t := range []string{results.TargetVMNoTHP, results.TargetVMKSM, results.TargetVMLean, results.TargetVMPmem} {
		s := stats.Summarize(r.Start.Ratios(t, results.TargetVM))
		if s.N == 0 {
			continue
		}
		parts = append(parts, t+" ÷ vm "+ratio(s))
		if s.Median > slowerLimit {
			slower = append(slower, t)
		}
	}
	if len(parts) == 0 {
		return nil
	}
	text := "Memory mechanisms against vm's cold start, paired per round: " + strings.Join(parts, "; ") + "."
	if len(slower) > 0 {
		text += " Slower than vm by more than 10%: " + strings.Join(slower, ", ") + "."
		if slices.ContainsFunc(slower, func(t string) bool { return t != results.TargetVMPmem }) {
			text += " vm-nothp, vm-ksm and vm-lean keep guest RAM off transparent huge pages: their boots take more nested page faults."
		}
	}
	return []Block{Para{Text(text)}}
}
