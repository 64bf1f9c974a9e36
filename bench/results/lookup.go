package results

import (
	"math"

	"github.com/vmmlab/vmm/bench/stats"
)

// MedianReady is target's median launch → ready time, NaN without samples.
func (r *Results) MedianReady(target string) float64 {
	if r.Start == nil {
		return math.NaN()
	}
	var xs []float64
	for _, s := range r.Start.Counted(target) {
		xs = append(xs, s.ReadyMS)
	}
	if len(xs) == 0 {
		return math.NaN()
	}
	return stats.Summarize(xs).Median
}

// MemoryOf is target's memory sample, nil if it has none without an error.
func (r *Results) MemoryOf(target string) *MemorySample {
	for i := range r.Memory {
		if r.Memory[i].Target == target && r.Memory[i].Error == "" {
			return &r.Memory[i]
		}
	}
	return nil
}

// DensityOf is target's density run, nil if it had none.
func (r *Results) DensityOf(target string) *DensityRun {
	for i := range r.Density {
		if r.Density[i].Target == target {
			return &r.Density[i]
		}
	}
	return nil
}
