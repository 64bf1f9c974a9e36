package results

import (
	"math"

	"github.com/vmmlab/vmm/bench/stats"
)

// MedianReady is target's median launch → ready time, NaN without samples.
func (r *Results) MedianReady(target string) float64 { return medianReady(r.Start, target) }

// medianReady is target's median launch → ready time in start, NaN
// without samples.
func medianReady(start *StartResults, target string) float64 {
	if start == nil {
		return math.NaN()
	}
	var xs []float64
	for _, s := range start.Counted(target) {
		xs = append(xs, s.ReadyMS)
	}
	if len(xs) == 0 {
		return math.NaN()
	}
	return stats.Summarize(xs).Median
}

// MemoryOf is target's memory sample, nil if it has none without an error.
func (r *Results) MemoryOf(target string) *MemorySample { return memoryOf(r.Memory, target) }

// memoryOf is target's sample in ms, nil if it has none without an error.
func memoryOf(ms []MemorySample, target string) *MemorySample {
	for i := range ms {
		if ms[i].Target == target && ms[i].Error == "" {
			return &ms[i]
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
