package bench

import (
	"context"
	"testing"
	"time"

	"github.com/vmmlab/vmm/bench/results"
)

// countingHost stands in for the host's KSM in checkpoint's bookkeeping
// (the real ksmd is driven in package ksm's tests and the lab's).
type countingHost struct{ settles []int }

func (h *countingHost) densityBegin() (func() error, error) { return func() error { return nil }, nil }
func (h *countingHost) densitySettle(_ context.Context, live []*Instance, _ time.Duration, drop func() int64) results.MergingPoint {
	h.settles = append(h.settles, len(live))
	return results.MergingPoint{N: len(live), DropBefore: drop(), DropAfter: drop() / 2}
}

// A merging run waits at ksmCheckpoint instances and at the end (once
// when the two coincide), and the run's last point takes the memory left
// once merged.
func TestMergingCheckpoints(t *testing.T) {
	for _, c := range []struct {
		n      int
		settle []int
	}{{5, []int{5}}, {ksmCheckpoint, []int{ksmCheckpoint}}, {ksmCheckpoint + 3, []int{ksmCheckpoint, ksmCheckpoint + 3}}} {
		h := &countingHost{}
		m := &mergingRun{host: h, end: func() error { return nil }}
		var run results.DensityRun
		var live []*Instance
		drop := func() int64 { return int64(len(live)) << 20 }
		for i := 1; i <= c.n; i++ {
			live = append(live, &Instance{})
			run.Points = append(run.Points, results.DensityPoint{N: i, MemAvailableDrop: drop()})
			m.checkpoint(context.Background(), &run, live, drop, false)
		}
		m.checkpoint(context.Background(), &run, live, drop, true)
		if !equalInts(h.settles, c.settle) || len(run.Merging) != len(c.settle) {
			t.Errorf("%d instances: waited at %v (%d points), want %v", c.n, h.settles, len(run.Merging), c.settle)
		}
		if got, want := run.Points[c.n-1].MemAvailableDrop, int64(c.n)<<19; got != want {
			t.Errorf("%d instances: last point's drop %d, want the merged %d", c.n, got, want)
		}
	}
	var none *mergingRun // a target without a host setting
	none.checkpoint(context.Background(), &results.DensityRun{}, []*Instance{{}}, func() int64 { return 0 }, true)
	if err := none.close(); err != nil {
		t.Error(err)
	}
}
