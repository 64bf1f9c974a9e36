package report

import (
	"fmt"
	"strings"

	"github.com/vmmlab/vmm/bench/results"
	"github.com/vmmlab/vmm/bench/stats"
	"github.com/vmmlab/vmm/docs/figures"
)

// headline is the README's table: its targets in order, with what each is.
var headline = []struct{ target, label string }{
	{results.TargetVM, "vm (vmm, minimal kernel)"},
	{results.TargetVMRestore, "vm-restore (from a snapshot)"},
	{results.TargetVMStock, "vm-stock (vmm, Debian kernel)"},
	{results.TargetQEMU, "qemu (microvm, minimal kernel)"},
	{results.TargetCrun, "crun"},
	{results.TargetRunsc, "runsc (gVisor)"},
	{results.TargetDocker, "docker"},
	{results.TargetProcess, "process"},
}

// Figures names the numbers the docs quote from this run (see package
// figures): per target start.T.ready, start.T.vs_crun, memory.T.pss, and for
// VMs memory.T.own and memory.T.guest (guest RAM touched); the paired ratios peer.vm_qemu, peer.stock_qemu,
// restore.vs_cold and restore.vs_crun; density.T.count and
// density.T.each; the tables table.headline, table.claims and
// table.claims_measured; and report.excerpt, the report's summary and
// its paired ratios; and the claim pages' tables (table.start,
// table.memory, table.density, table.footprint) and ratios.
func Figures(r *results.Results) figures.Set {
	v := map[string]string{}
	for _, row := range StartTable(r) {
		v["start."+row.Target+".ready"] = secs(row.Summary.Median)
		if row.VsCrun.N > 0 {
			v["start."+row.Target+".vs_crun"] = times(row.VsCrun.Median)
		}
	}
	for _, m := range r.Memory {
		if m.Error == "" {
			v["memory."+m.Target+".pss"] = mib(float64(m.Pss))
			if m.GuestConfigured > 0 {
				v["memory."+m.Target+".own"] = mib(float64(m.OwnRss))
				v["memory."+m.Target+".guest"] = mib(float64(m.GuestRss))
			}
		}
	}
	if r.Start != nil {
		for name, pair := range map[string][2]string{"peer.vm_qemu": {results.TargetVM, results.TargetQEMU},
			"peer.stock_qemu": {results.TargetVMStock, results.TargetQEMUStock}, "restore.vs_cold": {results.TargetVMRestore, results.TargetVM},
			"restore.vs_crun": {results.TargetVMRestore, results.TargetCrun}} {
			if s := stats.Summarize(r.Start.Ratios(pair[0], pair[1])); s.N > 0 {
				v[name] = times(s.Median)
			}
		}
	}
	for _, d := range r.Density {
		v["density."+d.Target+".count"] = fmt.Sprint(d.Count)
		v["density."+d.Target+".each"] = mib(float64(d.MemAvailablePer))
	}
	v["table.headline"] = "\n" + tableMarkdown(headlineTable(v))
	v["table.claims"] = "\n" + tableMarkdown(claimsTable(r, false))
	v["table.claims_measured"] = "\n" + tableMarkdown(claimsTable(r, true))
	excerpt := &Document{}
	excerpt.Add(List{summaryItems(r)})
	if r.Start != nil {
		excerpt.Add(startRatios(r)...)
	}
	excerpt.Add(cloneRatios(r)...)
	v["report.excerpt"] = "\n" + excerpt.Markdown()
	claimTables(r, v)
	claimRatios(r, v)
	v["run"] = runName(r)
	return figures.Set{Run: v["run"], Values: v}
}

func headlineTable(v map[string]string) Table {
	t := Table{Header: []Text{"target", "ready (median)", "÷ crun", "idle `http` PSS"}}
	for _, h := range headline {
		ready, ok := v["start."+h.target+".ready"]
		if !ok {
			continue
		}
		vs := orDash(v["start."+h.target+".vs_crun"])
		if h.target == results.TargetCrun {
			vs = "1×"
		}
		t.Rows = append(t.Rows, []Text{Text(h.label), Text(ready), Text(vs), Text(orDash(v["memory."+h.target+".pss"]))})
	}
	return t
}

// tableMarkdown is the table alone, as Markdown.
func tableMarkdown(t Table) string {
	var b strings.Builder
	t.markdown(&b)
	return b.String()
}

func times(x float64) string { return fmt.Sprintf("%.2f×", x) }

// runName says which run the figures are from.
func runName(r *results.Results) string {
	rev := r.Env.VMMRevision // "vmm REVISION (...)"
	if f := strings.Fields(rev); len(f) >= 2 {
		rev = f[1][:min(len(f[1]), 7)]
	}
	s := fmt.Sprintf("vmm %s, %s", rev, r.Started.Format("2006-01-02"))
	if r.Start != nil {
		s += fmt.Sprintf(", %d rounds", r.Start.Runs)
	}
	if r.Env.Nested {
		s += ", nested lab"
	}
	return s
}

// labels name the targets in the docs' tables.
var labels = map[string]string{
	results.TargetVM: "vm (vmm, minimal kernel)", results.TargetVMNoTHP: "vm-nothp (vm without transparent huge pages)",
	results.TargetVMRestore: "vm-restore (vmm, from a snapshot)", results.TargetVMStock: "vm-stock (vmm, Debian kernel)",
	results.TargetVMKSM: "vm-ksm (vm with same-page merging)", results.TargetVMLean: "vm-lean (vm-ksm with free page reporting)", results.TargetVMPmem: "vm-pmem (vm with its root on virtio-pmem, DAX)", results.TargetVMRestoreLazy: "vm-restore-lazy (vm-restore without its working set)",
	results.TargetQEMU: "qemu (QEMU microvm, minimal kernel)", results.TargetQEMUStock: "qemu-stock (QEMU microvm, Debian kernel)",
	results.TargetRunsc: "runsc (gVisor)", results.TargetDocker: "docker run", results.TargetProcess: "process (fork+exec)",
}

func label(target string) string {
	if l, ok := labels[target]; ok {
		return l
	}
	return target
}

// claimTables are the claim pages' tables: every target's start, idle
// memory, density and footprint.
func claimTables(r *results.Results, v map[string]string) {
	start := Table{Header: []Text{"target", "median", "vs crun"}}
	for _, row := range StartTable(r) {
		vs := orDash(v["start."+row.Target+".vs_crun"])
		if row.Target == results.TargetCrun {
			vs = "1×"
		}
		start.Rows = append(start.Rows, []Text{Text(label(row.Target)), Text(secs(row.Summary.Median)), Text(vs)})
	}
	v["table.start"] = "\n" + tableMarkdown(start)
	mem := Table{Header: []Text{"target", "PSS", "split"}}
	for _, m := range r.Memory {
		if m.Error != "" {
			continue
		}
		split := fmt.Sprintf("cgroup %s", mib(float64(m.Cgroup)))
		if m.GuestConfigured > 0 {
			split = fmt.Sprintf("guest RAM touched %s of %s; the VMM's own %s", mib(float64(m.GuestRss)), mib(float64(m.GuestConfigured)), mib(float64(m.OwnRss)))
		} else if m.Cgroup == 0 {
			split = "–"
		}
		mem.Rows = append(mem.Rows, []Text{Text(label(m.Target)), Text(mib(float64(m.Pss))), Text(split)})
	}
	v["table.memory"] = "\n" + tableMarkdown(mem)
	dens := Table{Header: []Text{"target", "answering", "stopped because", "host memory each"}}
	for _, d := range r.Density {
		dens.Rows = append(dens.Rows, []Text{Text(label(d.Target)), Textf("%d", d.Count), Text(d.StopReason), Text(mib(float64(d.MemAvailablePer)))})
	}
	v["table.density"] = "\n" + tableMarkdown(dens)
	if r.Footprint != nil {
		disk := Table{Header: []Text{"target", "what", "on disk"}}
		for _, f := range r.Footprint.Files {
			disk.Rows = append(disk.Rows, []Text{Text(f.Target), Text(f.What), Text(mib(float64(f.Bytes)))})
		}
		v["table.footprint"] = "\n" + tableMarkdown(disk)
	}
}

// claimRatios are the ratios the claim pages' verdicts quote.
func claimRatios(r *results.Results, v map[string]string) {
	vm, crun, clones := r.DensityOf(results.TargetVM), r.DensityOf(results.TargetCrun), r.DensityOf(results.TargetVMRestore)
	if vm != nil && crun != nil && vm.MemAvailablePer > 0 && crun.MemAvailablePer > 0 {
		v["density.vm_vs_crun"] = times(float64(vm.MemAvailablePer) / float64(crun.MemAvailablePer))
	}
	v["density.clones"] = clonesSentence(vm, crun, clones)
	if m, k := r.MemoryOf(results.TargetVM), r.MemoryOf(results.TargetCrun); m != nil && k != nil && max(k.Pss, k.Cgroup) > 0 {
		v["memory.vm_vs_crun"] = times(float64(m.Pss) / float64(max(k.Pss, k.Cgroup)))
	}
	if r.Footprint != nil && r.Footprint.LargeImage != nil && r.Footprint.LargeImage.Started > 0 {
		l := r.Footprint.LargeImage
		v["footprint.large.count"] = fmt.Sprint(l.Started)
		v["footprint.large.image"] = mib(float64(l.ImageBytes))
		v["footprint.large.each"] = fmt.Sprintf("%.1f KiB", float64(l.BundleBytes)/float64(l.Started)/1024)
	}
}

// clonesSentence says what a clone of one snapshot cost against a
// cold-booted VM and a container, or why this run does not say.
func clonesSentence(vm, crun, clones *results.DensityRun) string {
	switch {
	case clones == nil:
		return "This run did not start clones of a snapshot."
	case clones.Count == 0 || clones.MemAvailablePer <= 0:
		return fmt.Sprintf("This run has no figure for clones of a snapshot: their density run stopped at once (%s).", clones.StopReason)
	case vm == nil || crun == nil || vm.MemAvailablePer <= 0 || crun.MemAvailablePer <= 0:
		return fmt.Sprintf("Clones restored from one snapshot cost %s each.", mib(float64(clones.MemAvailablePer)))
	}
	return fmt.Sprintf("Clones restored from one snapshot cost %s a cold-booted VM (%s a container), because their untouched guest memory stays in the snapshot's page cache, shared by every clone.",
		times(float64(clones.MemAvailablePer)/float64(vm.MemAvailablePer)), times(float64(clones.MemAvailablePer)/float64(crun.MemAvailablePer)))
}
