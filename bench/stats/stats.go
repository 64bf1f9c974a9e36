// Package stats summarises series of samples the way the bench reports
// them: median, spread, MAD-based outliers and paired ratios.
package stats

import (
	"math"
	"slices"
)

// Summary describes one series of samples (milliseconds, bytes, ...).
type Summary struct {
	N        int     `json:"n"`
	Median   float64 `json:"median"`
	P10      float64 `json:"p10"`
	P90      float64 `json:"p90"`
	Min      float64 `json:"min"`
	Max      float64 `json:"max"`
	Mean     float64 `json:"mean"`
	SD       float64 `json:"sd"`  // sample standard deviation (n-1)
	CoV      float64 `json:"cov"` // SD / Mean
	MAD      float64 `json:"mad"` // median absolute deviation (unscaled)
	Outliers []int   `json:"outliers,omitempty"`
}

// OutlierZ is the modified z-score above which a sample is an outlier:
// |x - median| / (1.4826 × MAD) > 10, the threshold hyperfine uses.
const OutlierZ = 10

// Summarize computes a Summary; samples are not modified. Outliers holds
// the indices (into samples) whose modified z-score exceeds OutlierZ.
func Summarize(samples []float64) Summary {
	n := len(samples)
	if n == 0 {
		return Summary{}
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	sum := 0.0
	for _, x := range s {
		sum += x
	}
	mean := sum / float64(n)
	ss := 0.0
	for _, x := range s {
		ss += (x - mean) * (x - mean)
	}
	sd := 0.0
	if n > 1 {
		sd = math.Sqrt(ss / float64(n-1))
	}
	cov := 0.0
	if mean != 0 {
		cov = sd / mean
	}
	med := quantile(s, 0.5)
	dev := make([]float64, n)
	for i, x := range s {
		dev[i] = math.Abs(x - med)
	}
	slices.Sort(dev)
	mad := quantile(dev, 0.5)
	return Summary{N: n, Median: med, P10: quantile(s, 0.1), P90: quantile(s, 0.9), Min: s[0], Max: s[n-1],
		Mean: mean, SD: sd, CoV: cov, MAD: mad, Outliers: outliers(samples, med, mad)}
}

// quantile interpolates linearly between the closest ranks of sorted s.
func quantile(s []float64, q float64) float64 {
	if len(s) == 0 {
		return 0
	}
	pos := q * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := int(math.Ceil(pos))
	return s[lo] + (s[hi]-s[lo])*(pos-float64(lo))
}

// ModifiedZ is (x - median) / (1.4826 × MAD); 0 when MAD is 0 and x is
// the median, ±Inf when MAD is 0 and it is not.
func ModifiedZ(x, median, mad float64) float64 {
	d := x - median
	if mad == 0 {
		switch {
		case d == 0:
			return 0
		case d > 0:
			return math.Inf(1)
		}
		return math.Inf(-1)
	}
	return d / (1.4826 * mad)
}

func outliers(samples []float64, med, mad float64) []int {
	var out []int
	for i, x := range samples {
		if math.Abs(ModifiedZ(x, med, mad)) > OutlierZ {
			out = append(out, i)
		}
	}
	return out
}

// PairedRatios divides a[i] by b[i] for every round in which both have a
// sample (NaN marks a missing one), so drift within a round cancels.
func PairedRatios(a, b []float64) []float64 {
	var r []float64
	for i := range min(len(a), len(b)) {
		if math.IsNaN(a[i]) || math.IsNaN(b[i]) || b[i] == 0 {
			continue
		}
		r = append(r, a[i]/b[i])
	}
	return r
}

// Finite drops NaN entries (rounds in which a target failed).
func Finite(xs []float64) []float64 {
	var out []float64
	for _, x := range xs {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			out = append(out, x)
		}
	}
	return out
}
