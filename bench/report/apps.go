package report

import (
	"fmt"
	"strings"

	"github.com/vmmlab/vmm/bench/results"
	"github.com/vmmlab/vmm/bench/stats"
)

// apps is a section per application image (vmm bench all --app): its
// start on every target that ran it, with the paired ratio to crun,
// and one idle instance's memory.
func apps(d *Document, r *results.Results) {
	if len(r.Apps) == 0 {
		return
	}
	d.Add(Heading{2, "Application images: the same image as a microVM and as a container"},
		Para{"Each image's process runs on every target that runs images: the VMs boot its layers as one read-only ext4 under an overlay root on a tmpfs (as `vmm run` does), the containers run on an overlay of its layers, docker on its own `docker load` of the file. Ready is the image's ready condition: its log line, or its first answer on a bridge of the bench's own; each instance is stopped right there. Memory is one idle instance after the settle time, measured as in the memory section."})
	for _, a := range r.Apps {
		appSection(d, r, a)
	}
}

func appSection(d *Document, r *results.Results, a results.AppRun) {
	t := Table{Header: []Text{"target", "ready (median)", "runs", "÷ crun (paired)", "idle PSS", "guest touched / cgroup", "failures"}}
	for _, name := range appTargets(r, a) {
		row := []Text{Text(name), "not measured", "0", "–", "not measured", "–", "–"}
		if a.Start != nil {
			n, fails := len(a.Start.Counted(name)), a.Start.Failures(name)
			row[1], row[2] = Text(secs(a.MedianReady(name))), Textf("%d", n)
			if rs := a.Start.Ratios(name, results.TargetCrun); len(rs) > 0 && name != results.TargetCrun {
				row[3] = Text(ratio(stats.Summarize(rs)))
			}
			if fails > 0 {
				row[6] = Textf("%d: %s", fails, firstError(a.Start, name))
			}
		}
		row[4], row[5] = appMemory(a, name)

		t.Rows = append(t.Rows, row)
	}
	d.Add(Heading{3, Textf("`%s` (%s), ready at %s", a.Image, shortID(a.ID), a.Ready)}, t)
	if a.Disk != nil {
		d.Add(Para{Text(diskLine(a.Disk))})
	}
	if a.Workload != "" {
		d.Add(Para{Text(baselineLine(a))})
	}
	appDensity(d, r, a)
	if len(a.Skipped) > 0 {
		var parts []string
		for _, s := range a.Skipped {
			parts = append(parts, fmt.Sprintf("%s (%s)", s.Target, s.Reason))
		}
		d.Add(Para{Textf("Not run for this image: %s.", strings.Join(parts, "; "))})
	}
}

// appTargets are the run's targets that ran the image, in report order.
func appTargets(r *results.Results, a results.AppRun) []string {
	skipped := map[string]bool{}
	for _, s := range a.Skipped {
		skipped[s.Target] = true
	}
	var out []string
	for _, t := range r.Targets {
		if !skipped[t.Name] {
			out = append(out, t.Name)
		}
	}
	return out
}

// appMemory is the idle PSS cell and the guest-touched (VMs) or cgroup
// (containers) cell of target's memory sample of the image.
func appMemory(a results.AppRun, target string) (Text, Text) {
	for _, m := range a.Memory {
		switch {
		case m.Target != target:
			continue
		case m.Error != "":
			return Textf("failed: %s", m.Error), "–"
		case m.GuestConfigured > 0:
			return Text(mib(float64(m.Pss))), Textf("%s / %s", mib(float64(m.GuestRss)), mib(float64(m.GuestConfigured)))
		case m.Cgroup > 0:
			return Text(mib(float64(m.Pss))), Text(mib(float64(m.Cgroup)))
		}
		return Text(mib(float64(m.Pss))), "–"
	}
	return "not measured", "–"
}

// firstError is target's first failed counted run's error, shortened.
func firstError(s *results.StartResults, target string) string {
	for _, x := range s.Samples {
		if x.Target == target && !x.Warmup && x.Error != "" {
			e, _, _ := strings.Cut(x.Error, "\n")
			if len(e) > 160 {
				e = e[:160] + "…"
			}
			return e
		}
	}
	return ""
}

// shortID is the first 12 hex digits of a sha256:HEX digest.
func shortID(id string) string {
	hex := strings.TrimPrefix(id, "sha256:")
	return hex[:min(12, len(hex))]
}

// diskLine says what an image takes on disk: its file, its layers as
// vmm's store keeps them (each once, whichever images share it) and the
// VMs' one ext4.
func diskLine(d *results.ImageDisk) string {
	var layers []string
	for _, l := range d.Layers {
		s := fmt.Sprintf("%s %s", shortID(l.ID), mib(float64(l.Bytes)))
		if len(l.SharedWith) > 0 {
			s += " (shared with " + strings.Join(l.SharedWith, ", ") + ": one copy)"
		}
		layers = append(layers, s)
	}
	file := "no file (a name in vmm's store)"
	if d.TarballBytes > 0 {
		file = "the image file " + mib(float64(d.TarballBytes))
	}
	return fmt.Sprintf("On disk: %s; its layers unpacked %s (%s); the VMs' read-only ext4 %s, one copy for every VM of the image (what a VM writes stays in its own tmpfs).",
		file, mib(float64(d.LayerBytes())), strings.Join(layers, ", "), mib(float64(d.Ext4Bytes)))
}

// baselineLine compares the start of an image that packs a bench
// workload with the same program from the bench's own image on the vm
// target, round by round (the image's cost at boot).
func baselineLine(a results.AppRun) string {
	base := results.Baseline(results.TargetVM)
	if a.Start == nil {
		return fmt.Sprintf("The %s workload packed as this image against %s: not measured.", a.Workload, base)
	}
	rs := a.Start.Ratios(results.TargetVM, base)
	if len(rs) == 0 {
		return fmt.Sprintf("The %s workload packed as this image against %s: not measured (no round with both).", a.Workload, base)
	}
	return fmt.Sprintf("The %s workload packed as this image, against the same program from the bench's own image on vm in the same rounds: ready %s against %s, %s (paired, %d rounds).",
		a.Workload, secs(a.MedianReady(results.TargetVM)), secs(a.MedianReady(base)), ratio(stats.Summarize(rs)), len(rs))
}
