package bench

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
)

// StartRow is one target's start statistics.
type StartRow struct {
	Target    string
	Summary   Summary
	Failures  int
	VsProcess Summary // paired per-round ratios
	VsCrun    Summary
	CPU       Summary
	Phases    []Phase // median ms of each phase
}

// StartTable summarises the start benchmark per target, in target order.
func (r *Results) StartTable() []StartRow {
	if r.Start == nil {
		return nil
	}
	var rows []StartRow
	for _, t := range r.Targets {
		ss := r.Start.Counted(t.Name)
		row := StartRow{Target: t.Name, Failures: r.Start.Failures(t.Name)}
		if len(ss) == 0 && row.Failures == 0 {
			continue
		}
		var ready, cpu []float64
		phases := map[string][]float64{}
		var order []string
		for _, s := range ss {
			ready, cpu = append(ready, s.ReadyMS), append(cpu, s.CPUMS)
			for _, p := range s.Phases {
				if _, ok := phases[p.Name]; !ok {
					order = append(order, p.Name)
				}
				phases[p.Name] = append(phases[p.Name], p.MS)
			}
		}
		row.Summary, row.CPU = Summarize(ready), Summarize(cpu)
		row.VsProcess = Summarize(r.Start.Ratios(t.Name, TargetProcess))
		row.VsCrun = Summarize(r.Start.Ratios(t.Name, TargetCrun))
		for _, name := range order {
			row.Phases = append(row.Phases, Phase{name, Summarize(phases[name]).Median})
		}
		row.Phases = sortPhases(row.Phases)
		rows = append(rows, row)
	}
	return rows
}

func f1(x float64) string {
	if math.IsNaN(x) || x == 0 {
		return "–"
	}
	if x >= 100 {
		return fmt.Sprintf("%.0f", x)
	}
	return fmt.Sprintf("%.1f", x)
}

func ratio(s Summary) string {
	if s.N == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f× (%.2f–%.2f)", s.Median, s.Min, s.Max)
}

// WriteMarkdown writes report.md.
func WriteMarkdown(w io.Writer, r *Results) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# vmm bench: microVMs and containers, side by side\n\n")
	if r.Env.Nested {
		fmt.Fprintf(&b, "> **%s.** Every VM exit is emulated in software here; read ratios between targets in this run, never absolute times.\n\n", r.Env.NestedNote)
	}
	if r.Interrupted {
		fmt.Fprintf(&b, "> **Interrupted**: the run was stopped early; what was gathered until then is below.\n\n")
	}
	writeSummary(&b, r)
	fmt.Fprintf(&b, "\n## The claims, measured\n\n| claim | measured in this run | verdict |\n|---|---|---|\n")
	for _, c := range r.Claims() {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", c.Claim, orDash(c.Measured), c.Verdict)
	}
	writeStart(&b, r)
	writeMemory(&b, r)
	writeDensity(&b, r)
	writeFootprint(&b, r)
	writeMethod(&b, r)
	_, err := io.WriteString(w, b.String())
	return err
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

func writeSummary(b *strings.Builder, r *Results) {
	fmt.Fprintf(b, "## Summary\n\n")
	fmt.Fprintf(b, "- Run %s → %s on %s (%d cores, %s, host kernel %s, %s, THP %s); %s.\n",
		r.Started.Format("2006-01-02 15:04:05"), r.Finished.Format("15:04:05"), orDash(r.Env.CPU), r.Env.Cores, mib(float64(r.Env.MemTotal)), r.Env.Host, r.Env.KVMModule, r.Env.THP, r.Env.VMMRevision)
	for _, row := range r.StartTable() {
		fmt.Fprintf(b, "- **%s** ready in %s (median of %d, %d failed)", row.Target, secs(row.Summary.Median), row.Summary.N, row.Failures)
		if row.VsCrun.N > 0 && row.Target != TargetCrun {
			fmt.Fprintf(b, ", %.2f× crun", row.VsCrun.Median)
		}
		if m := r.memory(row.Target); m != nil {
			fmt.Fprintf(b, "; idle http PSS %s", mib(float64(m.Pss)))
		}
		fmt.Fprintln(b, ".")
	}
	for _, s := range r.Skipped {
		fmt.Fprintf(b, "- **%s** skipped: %s\n", s.Target, s.Reason)
	}
	fmt.Fprintf(b, "\n| target | kind | version |\n|---|---|---|\n")
	for _, t := range r.Targets {
		fmt.Fprintf(b, "| %s | %s | %s |\n", t.Name, t.Kind, t.Version)
	}
	fmt.Fprintf(b, "\nWorkloads (the same bytes as a process, in every container root and on the VMs' root disk), sha256:\n\n")
	names := make([]string, 0, len(r.Workloads))
	for n := range r.Workloads {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(b, "- `%s` %s\n", n, r.Workloads[n])
	}
	if len(r.Teardown) == 0 {
		fmt.Fprintf(b, "\nTeardown: nothing was left behind (processes, taps, veths, cgroups, bundles checked).\n")
	} else {
		fmt.Fprintf(b, "\n**Teardown left behind:** %s\n", strings.Join(r.Teardown, "; "))
	}
}

func writeStart(b *strings.Builder, r *Results) {
	rows := r.StartTable()
	if len(rows) == 0 {
		return
	}
	fmt.Fprintf(b, "\n## Start: launch → ready (`%s` workload, %d runs after %d warm-up, interleaved and rotated)\n\n", r.Start.Workload, r.Start.Runs, r.Start.Warmup)
	fmt.Fprintf(b, "![start times](start.svg)\n\n")
	fmt.Fprintf(b, "| target | n | fail | median ms | p10 | p90 | min | max | mean ± sd | CoV | outliers | vs process | vs crun | CPU ms |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, row := range rows {
		s := row.Summary
		fmt.Fprintf(b, "| %s | %d | %d | %s | %s | %s | %s | %s | %s ± %s | %.1f%% | %d | %s | %s | %s |\n", row.Target, s.N, row.Failures,
			f1(s.Median), f1(s.P10), f1(s.P90), f1(s.Min), f1(s.Max), f1(s.Mean), f1(s.SD), 100*s.CoV, len(s.Outliers),
			ratio(row.VsProcess), ratio(row.VsCrun), f1(row.CPU.Median))
	}
	fmt.Fprintf(b, "\nRatios are paired per round (target ÷ base in the same round), median (min–max). Outliers: modified z-score on the MAD above %d (as hyperfine).\n", OutlierZ)
	var peers []string
	for _, pair := range [][2]string{{TargetVM, TargetQEMU}, {TargetVMNoTHP, TargetQEMU}, {TargetVMStock, TargetQEMUStock}} {
		if rs := Summarize(r.Start.Ratios(pair[0], pair[1])); rs.N > 0 {
			peers = append(peers, fmt.Sprintf("%s ÷ %s %s", pair[0], pair[1], ratio(rs)))
		}
	}
	if len(peers) > 0 {
		fmt.Fprintf(b, "\nvmm against QEMU with the same kernel, root disk, initramfs and command line, paired per round: %s.\n", strings.Join(peers, "; "))
	}
	for _, t := range r.Targets {
		if t.Name == TargetVMStock && strings.Contains(t.Version, "--unpack-kernel") {
			fmt.Fprintf(b, "\nvm-stock boots Debian's bzImage with `vmm boot --unpack-kernel`: vmm unpacked its kernel on the host once (in the discarded warm-up round), keeps it, and enters it at its PVH entry point, so the guest runs no decompressor (and no KASLR); qemu-stock boots the same bzImage through the kernel's own decompressor.\n")
		}
	}
	if rs := Summarize(r.Start.Ratios(TargetVMRestore, TargetVM)); rs.N > 0 {
		fmt.Fprintf(b, "\nRestore against cold boot, paired per round: vm-restore ÷ vm %s (the snapshot was taken as vmm-init started the workload).\n", ratio(rs))
	}
	fmt.Fprintf(b, "\n### Phases (median ms since launch)\n\n![phases](phases.svg)\n\n")
	for _, row := range rows {
		var ps []string
		for _, p := range row.Phases {
			ps = append(ps, fmt.Sprintf("%s %s", p.Name, f1(p.MS)))
		}
		fmt.Fprintf(b, "- **%s**: %s\n", row.Target, strings.Join(ps, " → "))
	}
	var fails []string
	for _, s := range r.Start.Samples {
		if s.Error != "" {
			fails = append(fails, fmt.Sprintf("- %s round %d: %s", s.Target, s.Round, s.Error))
		} else if s.Note != "" && !s.Warmup {
			fails = append(fails, fmt.Sprintf("- %s round %d: %s", s.Target, s.Round, s.Note))
		}
	}
	if len(fails) > 0 {
		fmt.Fprintf(b, "\nFailures and notes:\n\n%s\n", strings.Join(dedupe(fails, 12), "\n"))
	}
}

// dedupe keeps at most n lines.
func dedupe(ls []string, n int) []string {
	if len(ls) > n {
		return append(ls[:n], fmt.Sprintf("- … %d more in results.json", len(ls)-n))
	}
	return ls
}

func writeMemory(b *strings.Builder, r *Results) {
	if len(r.Memory) == 0 {
		return
	}
	fmt.Fprintf(b, "\n## Memory: one idle `http` instance each\n\n![memory](memory.svg)\n\n")
	fmt.Fprintf(b, "| target | PSS (all its processes) | guest RAM touched / configured | VMM own (Rss) | cgroup | cgroup anon / file / kernel | host kernel Δ | processes | THP |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, m := range r.Memory {
		if m.Error != "" {
			fmt.Fprintf(b, "| %s | failed: %s |||||||\n", m.Target, strings.ReplaceAll(m.Error, "|", "/"))
			continue
		}
		guest, own, cg, split := "–", "–", "–", "–"
		if m.GuestConfigured > 0 {
			guest = fmt.Sprintf("%s / %s", mib(float64(m.GuestRss)), mib(float64(m.GuestConfigured)))
			own = mib(float64(m.OwnRss))
		}
		if m.Cgroup > 0 {
			cg = mib(float64(m.Cgroup))
			st := m.CgroupStat
			split = fmt.Sprintf("%s / %s / %s", mib(float64(st["anon"]+st["rss"])), mib(float64(st["file"]+st["cache"])), mib(float64(st["kernel"])))
		}
		var names []string
		for _, p := range m.Procs {
			names = append(names, fmt.Sprintf("%s %s", p.Name, mib(float64(p.Pss))))
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", m.Target, mib(float64(m.Pss)), guest, own, cg, split,
			mib(float64(m.Host.Kernel())), strings.Join(names, ", "), m.THP)
	}
	for _, m := range r.Memory {
		if len(m.OwnTop) == 0 {
			continue
		}
		var parts []string
		for _, t := range m.OwnTop {
			parts = append(parts, fmt.Sprintf("%s %s", t.Name, mib(float64(t.Rss))))
		}
		fmt.Fprintf(b, "\n%s's own mappings by Rss: %s.\n", m.Target, strings.Join(parts, ", "))
	}
}

func writeDensity(b *strings.Builder, r *Results) {
	if len(r.Density) == 0 {
		return
	}
	fmt.Fprintf(b, "\n## Density: idle `http` instances on a private bridge, each answering HTTP\n\n![density](density.svg)\n\n")
	fmt.Fprintf(b, "| target | answering | stopped because | launch rate /s | MemAvailable drop each | PSS each | host kernel each | failures | left behind |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, d := range r.Density {
		fmt.Fprintf(b, "| %s | %d of %d | %s | %.2f | %s | %s | %s | %s | %s |\n", d.Target, d.Count, d.Max, d.StopReason, d.LaunchRate,
			mib(float64(d.MemAvailablePer)), mib(float64(d.PssPer)), mib(float64(d.HostKernelPer)), orDash(strings.Join(d.Failures, "; ")), orDash(strings.Join(d.Leftovers, ", ")))
	}
	if v, c := r.density(TargetVM), r.density(TargetVMRestore); v != nil && c != nil && v.PssPer > 0 && v.MemAvailablePer > 0 {
		fmt.Fprintf(b, "\nA clone of one snapshot against a cold-booted VM, per instance: PSS %.2f×, MemAvailable drop %.2f× (clones share the snapshot's memory file through the page cache until they write a page).\n",
			float64(c.PssPer)/float64(v.PssPer), float64(c.MemAvailablePer)/float64(v.MemAvailablePer))
	}
}

func writeFootprint(b *strings.Builder, r *Results) {
	if r.Footprint == nil {
		return
	}
	fmt.Fprintf(b, "\n## Image footprint\n\n| target | what | on disk |\n|---|---|---|\n")
	for _, f := range r.Footprint.Files {
		fmt.Fprintf(b, "| %s | %s | %s |\n", f.Target, f.What, mib(float64(f.Bytes)))
	}
	if l := r.Footprint.LargeImage; l != nil {
		fmt.Fprintf(b, "\nLarge image: %d of %d %s containers started from one %s root (shared read-only): disk in all %s (their own files %s), MemAvailable drop %s.", l.Started, l.N, l.Target,
			mib(float64(l.ImageBytes)), mib(float64(l.DiskTotal)), mib(float64(l.BundleBytes)), mib(float64(l.MemAvailDrop)))
		if l.Error != "" {
			fmt.Fprintf(b, " Error: %s.", l.Error)
		}
		fmt.Fprintln(b)
	}
	if d := r.Footprint.Docker; d != nil {
		fmt.Fprintf(b, "\nDocker (%s): the imported image is %s; %d of %d containers created from it added %s to the data root (%.1f KiB each: their own upper and init layers).", d.Driver,
			mib(float64(d.ImageBytes)), d.Created, d.N, mib(float64(d.DataRootGrowth)), float64(d.DataRootGrowth)/1024/float64(max(d.Created, 1)))
		if d.Error != "" {
			fmt.Fprintf(b, " Error: %s.", d.Error)
		}
		fmt.Fprintln(b)
	}
	fmt.Fprintf(b, "\nEvery VM boots the same kernel file and the same read-only root disk; on disk they are stored once however many VMs run. In memory, each guest keeps its own page cache of what it read from the disk (it counts in that VM's guest RAM), while the host's page cache of the disk file is shared by all of them, as a container root's is.\n")
}

func writeMethod(b *strings.Builder, r *Results) {
	fmt.Fprintf(b, "\n## How this was measured\n\n")
	fmt.Fprintf(b, `- **Start**: the bench forks the target's launcher (vmm, qemu, the OCI runtime's create+start, docker run, or the program itself) and times launch → the first output line containing the ready marker, read from a pipe; then waits for the instance to end, and removes it. Targets run once per round in an order rotated every round; warm-up rounds are discarded. VM phases come from vmm's own clock (its --json result: process start, machine built, first KVM_RUN, the guest init's boot-timer write) and container phases from the runtime's create and start returning. CPU time is getrusage(RUSAGE_CHILDREN) across the run: every process the bench waited for (daemons such as dockerd are not included).
- **Memory**: one idle http instance per target, sampled after it was ready and settled. Every process's /proc/PID/smaps; for VMs the mappings at least as large as guest RAM are guest memory ("touched" = their Rss), every other mapping is the VMM's own (Firecracker's and Cloud Hypervisor's method); its binary's Rss counts in full, though every VM shares those pages, and vmm drops them from its resident set once the guest has booted and again 1, 3, 7, 15, 31 and 63 s later, then every minute, so only the code its run touched since the last drop counts. Containers: the cgroup's charge and memory.stat split, and the PSS of every process in the cgroup (plus docker's shim). Host kernel Δ is /proc/meminfo's Slab + KernelStack + PageTables + SecPageTables change from before launch, which charges KVM's page tables and vCPU state to the VM instead of hiding them.
- **Density**: instances start one after another, each with its own address on a bridge in a private network namespace (a tap for a VM, a veth for a container; a clone restored from a snapshot keeps the snapshot's address, so it gets a tap alone in a namespace of its own); one counts only once it answered GET / over that bridge. Per instance: MemAvailable drop ÷ N and the sum of PSS ÷ N. Afterwards everything is torn down and the bench checks for leftover processes, taps, veths, cgroups and bundles.
- **Footprint**: allocated blocks of the files each target needs; the large-image row starts N containers over one large shared read-only root and measures the disk their own files take.
- **Same limits**: every target gets %s of memory and %s vCPU/CPU (see flags), the same static workload binaries (sha256 above) and the same u-root userland: the containers' root directory and the VMs' root disk (ext4, read-only, on virtio-blk; the minimal kernel mounts it itself, the Debian kernel through a small initramfs that loads its modules) hold the same tree, unpacked from one image.
`, r.Flags["mem"], r.Flags["cpus"])
	keys := make([]string, 0, len(r.Flags))
	for k := range r.Flags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var fl []string
	for _, k := range keys {
		fl = append(fl, fmt.Sprintf("--%s=%s", k, r.Flags[k]))
	}
	fmt.Fprintf(b, "- Flags: `%s`\n", strings.Join(fl, " "))
}
