package report

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/vmmlab/vmm/bench/results"
)

func memory(d *Document, r *results.Results) {
	if len(r.Memory) == 0 {
		return
	}
	t := Table{Header: []Text{"target", "PSS (all its processes)", "guest RAM touched / configured", "VMM own (Rss)", "cgroup",
		"cgroup anon / file / kernel", "host kernel Δ", "processes", "THP"}}
	for _, m := range r.Memory {
		if m.Error != "" {
			t.Rows = append(t.Rows, []Text{Text(m.Target), Textf("failed: %s", m.Error), "", "", "", "", "", "", ""})
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
		t.Rows = append(t.Rows, []Text{Text(m.Target), Text(mib(float64(m.Pss))), Text(guest), Text(own), Text(cg), Text(split),
			Text(mib(float64(m.Host.Kernel()))), Text(strings.Join(names, ", ")), Text(m.THP)})
	}
	d.Add(Heading{2, "Memory: one idle `http` instance each"}, Image{"memory", "memory.svg"}, t)
	d.Add(guestMemory(r)...)
	for _, m := range r.Memory {
		if len(m.OwnTop) == 0 {
			continue
		}
		var parts []string
		for _, t := range m.OwnTop {
			parts = append(parts, fmt.Sprintf("%s %s", t.Name, mib(float64(t.Rss))))
		}
		d.Add(Para{Textf("%s's own mappings by Rss: %s.", m.Target, strings.Join(parts, ", "))})
	}
}

func density(d *Document, r *results.Results) {
	if len(r.Density) == 0 {
		return
	}
	t := Table{Header: []Text{"target", "answering", "stopped because", "launch rate /s", "MemAvailable drop each", "PSS each",
		"host kernel each", "failures", "lab faults passed", "left behind"}}
	for _, x := range r.Density {
		t.Rows = append(t.Rows, []Text{Text(x.Target), Textf("%d of %d", x.Count, x.Max), Text(x.StopReason), Textf("%.2f", x.LaunchRate),
			Text(mib(float64(x.MemAvailablePer))), Text(mib(float64(x.PssPer))), Text(mib(float64(x.HostKernelPer))),
			Text(orDash(strings.Join(x.Failures, "; "))), Text(labFaults(x.LabFaults)), Text(orDash(strings.Join(x.Leftovers, ", ")))})
	}
	d.Add(Heading{2, "Density: idle `http` instances on a private bridge, each answering HTTP"}, Image{"density", "density.svg"}, t)
	d.Add(cloneRatios(r)...)
	d.Add(merging(r)...)
}

// labFaults says how many instances a density run lost to the nested
// lab's known faults, and which.
func labFaults(fs []results.LabFault) string {
	if len(fs) == 0 {
		return "–"
	}
	var parts []string
	for _, f := range fs {
		if f.Attempt > 0 {
			parts = append(parts, fmt.Sprintf("launch %d: %s", f.Attempt, f.Fault))
		} else {
			parts = append(parts, fmt.Sprintf("instance %d: %s", f.Instance, f.Fault))
		}
	}
	return fmt.Sprintf("%d (%s)", len(fs), strings.Join(parts, "; "))
}

// cloneRatios compares a clone with a cold-booted VM, if both ran.
func cloneRatios(r *results.Results) []Block {
	v, c := r.DensityOf(results.TargetVM), r.DensityOf(results.TargetVMRestore)
	if v == nil || c == nil || v.PssPer == 0 || v.MemAvailablePer == 0 {
		return nil
	}
	return []Block{Para{Textf("A clone of one snapshot against a cold-booted VM, per instance: PSS %.2f×, MemAvailable drop %.2f× (clones share the snapshot's memory file through the page cache until they write a page).",
		float64(c.PssPer)/float64(v.PssPer), float64(c.MemAvailablePer)/float64(v.MemAvailablePer))}}
}

func footprint(d *Document, r *results.Results) {
	if r.Footprint == nil {
		return
	}
	t := Table{Header: []Text{"target", "what", "on disk"}}
	for _, f := range r.Footprint.Files {
		t.Rows = append(t.Rows, []Text{Text(f.Target), Text(f.What), Text(mib(float64(f.Bytes)))})
	}
	d.Add(Heading{2, "Image footprint"}, t)
	if l := r.Footprint.LargeImage; l != nil {
		s := fmt.Sprintf("Large image: %d of %d %s containers started from one %s root (shared read-only): disk in all %s (their own files %s), MemAvailable drop %s.", l.Started, l.N, l.Target,
			mib(float64(l.ImageBytes)), mib(float64(l.DiskTotal)), mib(float64(l.BundleBytes)), mib(float64(l.MemAvailDrop)))
		if l.Error != "" {
			s += fmt.Sprintf(" Error: %s.", l.Error)
		}
		d.Add(Para{Text(s)})
	}
	if x := r.Footprint.Docker; x != nil {
		s := fmt.Sprintf("Docker (%s): the imported image is %s; %d of %d containers created from it added %s to the data root (%.1f KiB each: their own upper and init layers).", x.Driver,
			mib(float64(x.ImageBytes)), x.Created, x.N, mib(float64(x.DataRootGrowth)), float64(x.DataRootGrowth)/1024/float64(max(x.Created, 1)))
		if x.Error != "" {
			s += fmt.Sprintf(" Error: %s.", x.Error)
		}
		d.Add(Para{Text(s)})
	}
	d.Add(Para{"Every VM boots the same kernel file and the same read-only root disk; on disk they are stored once however many VMs run. In memory, each guest keeps its own page cache of what it read from the disk (it counts in that VM's guest RAM), while the host's page cache of the disk file is shared by all of them, as a container root's is."})
}

// method says how each number was measured.
func method(d *Document, r *results.Results) {
	items := []Text{
		"**Start**: the bench forks the target's launcher (vmm, qemu, the OCI runtime's create+start, docker run, or the program itself) and times launch → the first output line containing the ready marker, read from a pipe; then waits for the instance to end, and removes it. Targets run once per round in an order rotated every round; warm-up rounds are discarded. VM phases come from vmm's own clock (its --json result: process start, machine built, first KVM_RUN, the guest init's boot-timer write) and container phases from the runtime's create and start returning. CPU time is getrusage(RUSAGE_CHILDREN) across the run: every process the bench waited for (daemons such as dockerd are not included).",
		"**Memory**: one idle http instance per target, sampled after it was ready and settled. Every process's /proc/PID/smaps; for VMs the mappings at least as large as guest RAM are guest memory (\"touched\" = their Rss), every other mapping is the VMM's own (Firecracker's and Cloud Hypervisor's method); its binary's Rss counts in full, though every VM shares those pages, and vmm drops them from its resident set once the guest has booted and again 1, 3, 7, 15, 31 and 63 s later, then every minute, so only the code its run touched since the last drop counts. Containers: the cgroup's charge and memory.stat split, and the PSS of every process in the cgroup (plus docker's shim). Host kernel Δ is /proc/meminfo's Slab + KernelStack + PageTables + SecPageTables change from before launch, which charges KVM's page tables and vCPU state to the VM instead of hiding them.",
		"**Density**: instances start one after another, each with its own address on a bridge in a private network namespace (a tap for a VM, a veth for a container; a clone restored from a snapshot keeps the snapshot's address, so it gets a tap alone in a namespace of its own); one counts only once it answered GET / over that bridge. Per instance: MemAvailable drop ÷ N and the sum of PSS ÷ N. Afterwards everything is torn down and the bench checks for leftover processes, taps, veths, cgroups and bundles.",
		"**Footprint**: allocated blocks of the files each target needs; the large-image row starts N containers over one large shared read-only root and measures the disk their own files take.",
		Text("**Same limits**: every target gets " + r.Flags["mem"] + " of memory and " + r.Flags["cpus"] + " vCPU/CPU (see flags), the same static workload binaries (sha256 above) and the same u-root userland: the containers' root directory and the VMs' root disk (ext4, read-only, on virtio-blk; the minimal kernel mounts it itself, the Debian kernel through a small initramfs that loads its modules) hold the same tree, unpacked from one image."),
	}
	var fl []string
	for _, k := range slices.Sorted(maps.Keys(r.Flags)) {
		fl = append(fl, fmt.Sprintf("--%s=%s", k, r.Flags[k]))
	}
	items = append(items, Textf("Flags: `%s`", strings.Join(fl, " ")))
	d.Add(Heading{2, "How this was measured"}, List{items})
}
