package report

import (
	"fmt"
	"sort"
	"strings"

	"github.com/vmmlab/vmm/bench/results"
)

// guestMemory is the table of where each idle VM guest's memory went, as
// its init reported it (KiB fields of /proc/meminfo and the largest slab
// caches): what the guest RAM touched above is made of.
func guestMemory(r *results.Results) []Block {
	t := Table{Header: []Text{"target", "configured", "kernel reserved", "in use", "page cache", "tmpfs/shmem", "processes",
		"slab", "kernel stacks + page tables", "largest slab caches"}}
	for _, m := range r.Memory {
		g := m.GuestMeminfo
		if g == nil || g["MemTotal"] == 0 {
			continue
		}
		kib := func(v uint64) Text { return Text(mib(float64(v) * 1024)) }
		reserved := Text("–")
		if total := g["MemTotal"] * 1024; m.GuestConfigured >= total {
			reserved = Text(mib(float64(m.GuestConfigured - total)))
		}
		t.Rows = append(t.Rows, []Text{Text(m.Target), Text(mib(float64(m.GuestConfigured))), reserved, kib(g["MemTotal"] - min(g["MemFree"], g["MemTotal"])),
			kib(g["Cached"]), kib(g["Shmem"]), kib(g["AnonPages"]), kib(g["Slab"]), kib(g["KernelStack"] + g["PageTables"]), Text(largestSlabs(g, 3))})
	}
	if len(t.Rows) == 0 {
		return nil
	}
	return []Block{Para{"Inside each idle VM guest, as its init reported it at the sample (`vmm.memreport`: /proc/meminfo and /proc/slabinfo). Kernel reserved is configured RAM the kernel never hands out (its image, the page structs); in use is MemTotal − MemFree."}, t}
}

// largestSlabs names the n largest slab caches of a report.
func largestSlabs(g map[string]uint64, n int) string {
	type cache struct {
		name string
		kib  uint64
	}
	var cs []cache
	for k, v := range g {
		if name, ok := strings.CutPrefix(k, "slab:"); ok {
			cs = append(cs, cache{name, v})
		}
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].kib > cs[j].kib || cs[i].kib == cs[j].kib && cs[i].name < cs[j].name })
	var parts []string
	for _, c := range cs[:min(n, len(cs))] {
		parts = append(parts, fmt.Sprintf("%s %s", c.name, mib(float64(c.kib)*1024)))
	}
	if len(parts) == 0 {
		return "–"
	}
	return strings.Join(parts, ", ")
}
