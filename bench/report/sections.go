package report

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/vmmlab/vmm/bench/results"
	"github.com/vmmlab/vmm/bench/stats"
)

// The report's sections, in order: each adds its blocks to the document.

func summary(d *Document, r *results.Results) {
	items := summaryItems(r)
	targets := Table{Header: []Text{"target", "kind", "version"}}
	for _, t := range r.Targets {
		targets.Rows = append(targets.Rows, []Text{Text(t.Name), Text(t.Kind), Text(t.Version)})
	}
	d.Add(Heading{2, "Summary"}, List{items}, targets,
		Para{"Workloads (the same bytes as a process, in every container root and on the VMs' root disk), sha256:"})
	var sums []Text
	for _, n := range slices.Sorted(maps.Keys(r.Workloads)) {
		sums = append(sums, Textf("`%s` %s", n, r.Workloads[n]))
	}
	d.Add(List{sums})
	if len(r.Teardown) == 0 {
		d.Add(Para{"Teardown: nothing was left behind (processes, taps, veths, cgroups, bundles checked)."})
	} else {
		d.Add(Para{Textf("**Teardown left behind:** %s", strings.Join(r.Teardown, "; "))})
	}
}

// summaryItems is the summary's list: the run, then each target's start
// and memory in a line.
func summaryItems(r *results.Results) []Text {
	var items []Text
	items = append(items, Textf("Run %s → %s on %s (%d cores, %s, host kernel %s, %s, THP %s); %s.",
		r.Started.Format("2006-01-02 15:04:05"), r.Finished.Format("15:04:05"), orDash(r.Env.CPU), r.Env.Cores, mib(float64(r.Env.MemTotal)), r.Env.Host, r.Env.KVMModule, r.Env.THP, r.Env.VMMRevision))
	for _, row := range StartTable(r) {
		line := fmt.Sprintf("**%s** ready in %s (median of %d, %d failed)", row.Target, secs(row.Summary.Median), row.Summary.N, row.Failures)
		if row.VsCrun.N > 0 && row.Target != results.TargetCrun {
			line += fmt.Sprintf(", %.2f× crun", row.VsCrun.Median)
		}
		if m := r.MemoryOf(row.Target); m != nil {
			line += fmt.Sprintf("; idle http PSS %s", mib(float64(m.Pss)))
		}
		items = append(items, Text(line+"."))
	}
	for _, s := range r.Skipped {
		items = append(items, Textf("**%s** skipped: %s", s.Target, s.Reason))
	}
	return items
}

func start(d *Document, r *results.Results) {
	rows := StartTable(r)
	if len(rows) == 0 {
		return
	}
	d.Add(Heading{2, Textf("Start: launch → ready (`%s` workload, %d runs after %d warm-up, interleaved and rotated)", r.Start.Workload, r.Start.Runs, r.Start.Warmup)},
		Image{"start times", "start.svg"})
	t := Table{Header: []Text{"target", "n", "fail", "median ms", "p10", "p90", "min", "max", "mean ± sd", "CoV", "outliers", "vs process", "vs crun", "CPU ms"}}
	for _, row := range rows {
		s := row.Summary
		t.Rows = append(t.Rows, []Text{Text(row.Target), Textf("%d", s.N), Textf("%d", row.Failures),
			Text(f1(s.Median)), Text(f1(s.P10)), Text(f1(s.P90)), Text(f1(s.Min)), Text(f1(s.Max)), Textf("%s ± %s", f1(s.Mean), f1(s.SD)),
			Textf("%.1f%%", 100*s.CoV), Textf("%d", len(s.Outliers)), Text(ratio(row.VsProcess)), Text(ratio(row.VsCrun)), Text(f1(row.CPU.Median))})
	}
	d.Add(t, Para{Textf("Ratios are paired per round (target ÷ base in the same round), median (min–max). Outliers: modified z-score on the MAD above %d (as hyperfine).", stats.OutlierZ)})
	d.Add(startRatios(r)...)
	d.Add(Heading{3, "Phases (median ms since launch)"}, Image{"phases", "phases.svg"})
	var phases []Text
	for _, row := range rows {
		var ps []string
		for _, p := range row.Phases {
			ps = append(ps, fmt.Sprintf("%s %s", p.Name, f1(p.MS)))
		}
		phases = append(phases, Textf("**%s**: %s", row.Target, strings.Join(ps, " → ")))
	}
	d.Add(List{phases})
	startFailures(d, r)
}

func startFailures(d *Document, r *results.Results) {
	var fails []Text
	for _, s := range r.Start.Samples {
		if s.LabFault != "" {
			fails = append(fails, Textf("%s round %d: the nested lab's known fault %s (run again): %s", s.Target, s.Round, s.LabFault, s.Error))
		} else if s.Error != "" {
			fails = append(fails, Textf("%s round %d: %s", s.Target, s.Round, s.Error))
		} else if s.Note != "" && !s.Warmup {
			fails = append(fails, Textf("%s round %d: %s", s.Target, s.Round, s.Note))
		}
	}
	if len(fails) > 0 {
		d.Add(Para{"Failures and notes:"}, List{dedupe(fails, 12)})
	}
}

// startRatios are the paired ratios against the peers and of a restore
// against a cold boot, and how vm-stock boots, as paragraphs.
func startRatios(r *results.Results) []Block {
	var out []Block
	var peers []string
	for _, pair := range [][2]string{{results.TargetVM, results.TargetQEMU}, {results.TargetVMNoTHP, results.TargetQEMU}, {results.TargetVMStock, results.TargetQEMUStock}} {
		if rs := stats.Summarize(r.Start.Ratios(pair[0], pair[1])); rs.N > 0 {
			peers = append(peers, fmt.Sprintf("%s ÷ %s %s", pair[0], pair[1], ratio(rs)))
		}
	}
	if len(peers) > 0 {
		out = append(out, Para{Textf("vmm against QEMU with the same kernel, root disk, initramfs and command line, paired per round: %s.", strings.Join(peers, "; "))})
	}
	for _, t := range r.Targets {
		if t.Name == results.TargetVMStock && strings.Contains(t.Version, "--unpack-kernel") {
			out = append(out, Para{"vm-stock boots Debian's bzImage with `vmm boot --unpack-kernel`: vmm unpacked its kernel on the host once (in the discarded warm-up round), keeps it, and enters it at its PVH entry point, so the guest runs no decompressor (and no KASLR); qemu-stock boots the same bzImage through the kernel's own decompressor."})
		}
	}
	if rs := stats.Summarize(r.Start.Ratios(results.TargetVMRestore, results.TargetVM)); rs.N > 0 {
		out = append(out, Para{Textf("Restore against cold boot, paired per round: vm-restore ÷ vm %s (the snapshot was taken as vmm-init started the workload).", ratio(rs))})
	}
	out = append(out, mechanismCost(r)...)
	if rs := stats.Summarize(r.Start.Ratios(results.TargetVMRestore, results.TargetVMRestoreLazy)); rs.N > 0 {
		out = append(out, Para{Textf("Reading the recorded working set first against faulting each page in on first touch, paired per round: vm-restore ÷ vm-restore-lazy %s; the phases show each restore's steps (guest RAM mapped, working set read, state restored, first KVM_RUN, ready).", ratio(rs))})
	}
	return out
}
