package guestinit

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// MemReportPrefix starts the line where the init says where the guest's
// memory went (vmm.memreport): "VMM-MEMREPORT " and then fields
// key=KiB separated by spaces: every /proc/meminfo field in kB, and the
// largest slab caches as slab:NAME.
const MemReportPrefix = "VMM-MEMREPORT "

// maxMemReport bounds vmm.memreport's seconds.
const maxMemReport = 3600

// topSlabs is how many slab caches the report names.
const topSlabs = 12

func parseMemReport(val string) (int, error) {
	n, err := strconv.Atoi(val)
	if err != nil || n < 1 || n > maxMemReport {
		return 0, fmt.Errorf("vmm.memreport=%q: want seconds, 1 to %d", val, maxMemReport)
	}
	return n, nil
}

// reportMemoryAfter prints the memory report to con after d.
func reportMemoryAfter(con io.Writer, d time.Duration) {
	time.Sleep(d)
	meminfo, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		logf(con, "memory report: %v", err)
		return
	}
	slabinfo, _ := os.ReadFile("/proc/slabinfo") // a kernel without it: no slab fields
	fmt.Fprintln(con, MemReportPrefix+MemReportFields(string(meminfo), string(slabinfo)))
}

// MemReportFields turns /proc/meminfo and /proc/slabinfo into the
// report's fields.
func MemReportFields(meminfo, slabinfo string) string {
	var fs []string
	for _, l := range strings.Split(meminfo, "\n") {
		f := strings.Fields(l)
		if len(f) == 3 && f[2] == "kB" && strings.HasSuffix(f[0], ":") {
			fs = append(fs, strings.TrimSuffix(f[0], ":")+"="+f[1])
		}
	}
	return strings.Join(append(fs, slabFields(slabinfo)...), " ")
}

// slabFields are the largest caches of /proc/slabinfo (version 2.1: name
// active_objs num_objs objsize objperslab pagesperslab ...) by the
// memory their slabs hold, in KiB.
func slabFields(slabinfo string) []string {
	type cache struct {
		name string
		kib  uint64
	}
	var cs []cache
	for _, l := range strings.Split(slabinfo, "\n") {
		f := strings.Fields(l)
		if len(f) < 6 || strings.HasPrefix(l, "#") || strings.HasPrefix(l, "slabinfo") {
			continue
		}
		num, err1 := strconv.ParseUint(f[2], 10, 64)
		size, err2 := strconv.ParseUint(f[3], 10, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		cs = append(cs, cache{f[0], num * size / 1024})
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].kib > cs[j].kib })
	var out []string
	for _, c := range cs[:min(len(cs), topSlabs)] {
		out = append(out, fmt.Sprintf("slab:%s=%d", c.name, c.kib))
	}
	return out
}

// ParseMemReport reads a report line's fields (after MemReportPrefix)
// into KiB by name; a field that is not name=number is an error.
func ParseMemReport(line string) (map[string]uint64, error) {
	rest, ok := strings.CutPrefix(line, MemReportPrefix)
	if !ok {
		return nil, fmt.Errorf("not a memory report: %.40q", line)
	}
	out := map[string]uint64{}
	for _, f := range strings.Fields(rest) {
		k, v, ok := strings.Cut(f, "=")
		n, err := strconv.ParseUint(v, 10, 64)
		if !ok || k == "" || err != nil {
			return nil, fmt.Errorf("memory report: field %.40q is not NAME=KIB", f)
		}
		out[k] = n
	}
	return out, nil
}
