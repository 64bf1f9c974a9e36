package report

import (
	"github.com/vmmlab/vmm/bench/results"
)

// merging is the table of what the host's same-page merging did in the
// density runs that switched it on (vm-ksm), at each count they waited.
func merging(r *results.Results) []Block {
	t := Table{Header: []Text{"target", "instances", "settled", "waited", "pages shared", "saved each", "merged each",
		"ksmd CPU", "MemAvailable drop each: before → after"}}
	for _, x := range r.Density {
		for _, p := range x.Merging {
			n := float64(max(p.N, 1))
			settled := "yes"
			if !p.Settled {
				settled = "no (stopped waiting)"
			}
			t.Rows = append(t.Rows, []Text{Text(x.Target), Textf("%d", p.N), Text(settled), Textf("%.0f s", p.WaitS),
				Textf("%d", p.PagesShared), Text(mib(float64(p.SavedPer))), Text(mib(float64(p.MergingPer))), Textf("%.1f s", p.KsmdCPUS),
				Textf("%s → %s", mib(float64(p.DropBefore)/n), mib(float64(p.DropAfter)/n))})
		}
	}
	if len(t.Rows) == 0 {
		return nil
	}
	return []Block{Para{"Same-page merging (KSM): the run switched the host's ksmd on, waited at each count until pages_sharing moved by under 1% over two full scans (5 minutes at most), then measured. 'saved each' is the host's pages_sharing ÷ instances; 'merged each' the instances' own ksm_merging_pages."}, t}
}
