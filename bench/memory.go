package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vmmlab/vmm/bench/results"
	"github.com/vmmlab/vmm/cgroup"
	"github.com/vmmlab/vmm/internal/meminfo"
)

// ReadHostMemory reads /proc/meminfo.
func ReadHostMemory() (results.HostMemory, error) {
	mi, err := meminfo.Read(meminfo.Path)
	if err != nil {
		return results.HostMemory{}, err
	}
	// SecPageTables is missing before Linux 6.0: then 0, as the kernel has
	// no such count.
	return results.HostMemory{MemTotal: mi["MemTotal"], MemAvailable: mi["MemAvailable"], Slab: mi["Slab"], KernelStack: mi["KernelStack"],
		PageTables: mi["PageTables"], SecPageTables: mi["SecPageTables"]}, nil
}

// memoryConfig says how to run the memory benchmark.
type memoryConfig struct {
	Workload string
	Args     []string
	MemMiB   int
	CPUs     int
	Timeout  time.Duration
	Settle   time.Duration // idle time after ready before the sample
	Net      *Bridge       // see startConfig
	Probe    *Ready
	Progress func(target string, run, of int)
}

// runMemory samples one idle instance of each target in turn.
func runMemory(ctx context.Context, targets []Target, c memoryConfig) []results.MemorySample {
	var out []results.MemorySample
	for i, t := range targets {
		if ctx.Err() != nil {
			break
		}
		if c.Progress != nil {
			c.Progress(t.Name(), i+1, len(targets))
		}
		out = append(out, memoryOnce(ctx, t, c))
	}
	return out
}

func memoryOnce(ctx context.Context, t Target, c memoryConfig) results.MemorySample {
	s := results.MemorySample{Target: t.Name(), Kind: t.Kind(), THP: thpMode()}
	before, _ := ReadHostMemory()
	lctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	spec := Spec{Workload: c.Workload, Args: c.Args, MemMiB: c.MemMiB, CPUs: c.CPUs, Net: c.Net, MemReport: memReportAfter(c.Settle)}
	in, err := launchReady(lctx, t, spec, c.Probe)
	if err != nil {
		s.Error = err.Error()
		return s
	}
	defer in.Stop()
	s.ReadyMS = ms(in.Ready)
	select {
	case <-time.After(c.Settle):
	case <-ctx.Done():
		s.Error = "interrupted while settling"
		return s
	}
	sampleInstance(&s, in)
	s.GuestMeminfo = guestMemory(ctx, in)
	after, _ := ReadHostMemory()
	s.Host = after.Sub(before)
	if err := in.Stop(); err != nil {
		s.Error = "teardown: " + err.Error()
	}
	return s
}

// sampleInstance fills in the process, mapping and cgroup readings.
func sampleInstance(s *results.MemorySample, in *Instance) {
	s.GuestConfigured = in.GuestRAM
	var own []results.Mapping
	for _, pid := range in.PIDs() {
		ms, err := ReadSmaps(pid)
		if err != nil {
			continue // ended meanwhile
		}
		total := Sum(ms)
		pm := results.ProcMemory{PID: pid, Name: procName(pid), Rss: total.Rss, Pss: total.Pss}
		s.Procs = append(s.Procs, pm)
		s.Pss += pm.Pss
		s.Rss += pm.Rss
		if in.GuestRAM > 0 {
			g, o := SplitGuest(ms, in.GuestRAM)
			gs, osum := Sum(g), Sum(o)
			s.GuestRss += gs.Rss
			s.GuestPss += gs.Pss
			s.GuestAnonHuge += gs.AnonHuge
			s.OwnRss += osum.Rss
			s.OwnPss += osum.Pss
			own = append(own, o...)
		}
	}
	if len(own) > 0 {
		top := ByName(own)
		s.OwnTop = top[:min(8, len(top))]
	}
	if in.Cgroup != "" {
		s.Cgroup, _ = readCgroupCurrent(in.Cgroup)
		s.CgroupStat = cgroupSplit(in.Cgroup)
		for _, p := range s.Procs {
			if CheckWorkload(p.Name) != nil { // not one of the workloads: the runtime's
				s.RuntimeProcs = append(s.RuntimeProcs, p.Name)
			}
		}
	}
}

// readCgroupCurrent reads memory.current (v2) or memory.usage_in_bytes (v1).
func readCgroupCurrent(dir string) (uint64, error) {
	for _, f := range []string{"memory.current", "memory.usage_in_bytes"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err == nil {
			var v uint64
			_, err = fmt.Sscan(string(b), &v)
			return v, err
		}
	}
	return 0, fmt.Errorf("%s: no memory.current or memory.usage_in_bytes", dir)
}

// cgroupSplit keeps memory.stat's anon/file/kernel keys (v2 names, or v1
// rss/cache).
func cgroupSplit(dir string) map[string]uint64 {
	st, err := cgroup.ReadStat(filepath.Join(dir, "memory.stat"))
	if err != nil {
		return nil
	}
	out := map[string]uint64{}
	for _, k := range []string{"anon", "file", "kernel", "kernel_stack", "pagetables", "sec_pagetables", "slab", "sock", "shmem", "rss", "cache"} {
		if v, ok := st[k]; ok {
			out[k] = v
		}
	}
	return out
}

// procName is a process's command name; for a program that re-executed
// itself through /proc/self/exe (runsc's sandbox and gofer, comm "exe")
// the name it gave itself in argv[0].
func procName(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil {
		return "?"
	}
	name := strings.TrimSpace(string(b))
	if name == "exe" {
		if c, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil && len(c) > 0 {
			arg0, _, _ := strings.Cut(string(c), "\x00")
			name = filepath.Base(arg0)
		}
	}
	return name
}

// thpMode is the host's transparent huge page setting (the bracketed word).
func thpMode() string {
	b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil {
		return "unknown"
	}
	s := string(b)
	if i := strings.Index(s, "["); i >= 0 {
		if j := strings.Index(s[i:], "]"); j > 0 {
			return s[i+1 : i+j]
		}
	}
	return strings.TrimSpace(s)
}
