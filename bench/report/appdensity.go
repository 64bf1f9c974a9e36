package report

import (
	"fmt"

	"github.com/vmmlab/vmm/bench/results"
)

// appDensity is the table of an image's instances at once (vmm bench
// all --app-n): host memory per instance and per extra one, how much of
// the image sat in the host's page cache with all of them up (one copy,
// counted once), and what they take on host disk: the shared copy once
// plus what each wrote.
// The last column is the same target's http workload density run of
// this report, on the bench's own root disk, for comparison.
func appDensity(d *Document, r *results.Results, a results.AppRun) {
	if len(a.Density) == 0 {
		return
	}
	t := Table{Header: []Text{"target", "instances", "MemAvailable per instance", "per extra instance", "PSS per instance",
		"image in host page cache (all)", "on host disk", "http workload: per instance"}}
	for _, run := range a.Density {
		row := []Text{Text(run.Target), Textf("%d (%s)", run.Count, run.StopReason), "–", "–", "–", "–", Text(appDiskUse(r, a, run)), "not measured"}
		if n := len(run.Points); n > 0 {
			row[2], row[4] = Text(mib(float64(run.MemAvailablePer))), Text(mib(float64(run.PssPer)))
			if run.ImageCachedBytes != nil {
				row[5] = Text(mib(float64(*run.ImageCachedBytes)))
			}
			if first, last := run.Points[0], run.Points[n-1]; last.N > first.N {
				extra := (last.MemAvailableDrop - first.MemAvailableDrop) / int64(last.N-first.N)
				row[3] = Text(mib(float64(extra)))
			}
		}
		if w := r.DensityOf(run.Target); w != nil && w.Count > 0 {
			row[7] = Text(mib(float64(w.MemAvailablePer)))
		}
		t.Rows = append(t.Rows, row)
	}
	d.Add(Para{Textf("Up to %d idle instances at once on each density target, each ready before the next starts:", a.Density[0].Max)}, t)
}

// appDiskUse says what run's instances took on host disk.
func appDiskUse(r *results.Results, a results.AppRun, run results.DensityRun) string {
	switch {
	case isVMTarget(r, run.Target) && a.Disk != nil:
		return fmt.Sprintf("ext4 %s once; writes stay in each guest's tmpfs", mib(float64(a.Disk.Ext4Bytes)))
	case run.WrittenBytes != nil && a.Disk != nil:
		return fmt.Sprintf("layers %s once + %s written by all", mib(float64(a.Disk.LayerBytes())), mib(float64(*run.WrittenBytes)))
	}
	return "not measured"
}

// isVMTarget says whether the run's target named name is a VM.
func isVMTarget(r *results.Results, name string) bool {
	for _, t := range r.Targets {
		if t.Name == name {
			return t.Kind == results.KindVM
		}
	}
	return false
}
