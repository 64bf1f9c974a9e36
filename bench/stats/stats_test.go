package stats

import (
	"math"
	"slices"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestSummarize(t *testing.T) {
	s := Summarize([]float64{5, 1, 4, 2, 3})
	if s.N != 5 || s.Median != 3 || s.Min != 1 || s.Max != 5 || s.Mean != 3 || s.MAD != 1 {
		t.Fatalf("summary %+v", s)
	}
	if !near(s.SD, math.Sqrt(2.5)) || !near(s.CoV, math.Sqrt(2.5)/3) {
		t.Fatalf("sd %v cov %v", s.SD, s.CoV)
	}
	if !near(s.P10, 1.4) || !near(s.P90, 4.6) {
		t.Fatalf("p10 %v p90 %v", s.P10, s.P90)
	}
	if len(s.Outliers) != 0 {
		t.Fatalf("outliers %v", s.Outliers)
	}
	if e := Summarize(nil); e.N != 0 || e.Median != 0 || e.Outliers != nil {
		t.Fatal("empty input should give a zero summary")
	}
}

func TestOutliersByModifiedZ(t *testing.T) {
	xs := []float64{100, 101, 99, 100, 102, 98, 100, 1000}
	s := Summarize(xs)
	if !slices.Equal(s.Outliers, []int{7}) {
		t.Fatalf("outliers %v, want [7] (median %v, MAD %v)", s.Outliers, s.Median, s.MAD)
	}
	// 115 is 15 MADs away but 15/1.4826 ≈ 10.1 > 10: an outlier; 114 is not.
	if z := ModifiedZ(115, 100, 1); z <= OutlierZ {
		t.Fatalf("z(115) = %v", z)
	}
	if z := ModifiedZ(114, 100, 1); z > OutlierZ {
		t.Fatalf("z(114) = %v", z)
	}
	if !math.IsInf(ModifiedZ(2, 1, 0), 1) || ModifiedZ(1, 1, 0) != 0 {
		t.Fatal("MAD 0 cases")
	}
}

func TestPairedRatiosSkipMissingRounds(t *testing.T) {
	a := []float64{10, math.NaN(), 30, 40}
	b := []float64{5, 10, 0, 20}
	if r := PairedRatios(a, b); !slices.Equal(r, []float64{2, 2}) {
		t.Fatalf("ratios %v", r)
	}
	if f := Finite([]float64{1, math.NaN(), math.Inf(1), 2}); !slices.Equal(f, []float64{1, 2}) {
		t.Fatalf("finite %v", f)
	}
}
