package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/vmmlab/vmm/machine"
	"github.com/vmmlab/vmm/runresult"
)

// kvmStatsShown are the KVM statistics --trace-exits prints, in order, when
// the kernel has them (--json carries them all).
func kvmStatsShown() []string {
	return []string{"exits", "io_exits", "mmio_exits", "halt_exits", "irq_exits", "irq_window_exits", "signal_exits",
		"irq_injections", "halt_wakeup", "halt_successful_poll", "pf_taken", "pf_fixed", "pf_emulate", "insn_emulation", "hypercalls"}
}

// exitTable prints the exits that reached vmm, by cause and device, with
// counts and handling times, then what KVM handled without vmm.
func exitTable(w io.Writer, m *machine.Machine) {
	stats := m.ExitStats()
	var n uint64
	var total time.Duration
	for _, s := range stats {
		n, total = n+s.Count, total+s.Total
	}
	fmt.Fprintf(w, "\nvmm: %d VM exits reached vmm (the user-space half), handled in %.1f ms in all:\n", n, ms(total))
	fmt.Fprintf(w, "  %-18s %-22s %10s %10s %9s\n", "cause", "device", "count", "total ms", "mean µs")
	for _, s := range stats {
		mean := 0.0
		if s.Count > 0 {
			mean = float64(s.Total.Nanoseconds()) / float64(s.Count) / 1000
		}
		fmt.Fprintf(w, "  %-18s %-22s %10d %10.2f %9.1f\n", s.Cause, s.Device, s.Count, ms(s.Total), mean)
	}
	if c := m.CoalescedWrites(); c > 0 {
		fmt.Fprintf(w, "vmm: %d writes to the PCI address port 0xcf8 cost no exit: KVM queued them (coalesced) and vmm applied them at the next exit.\n", c)
	}
	vm, vcpus, err := m.KVMStats()
	if err != nil {
		fmt.Fprintf(w, "vmm: KVM's own statistics: not available here (%v)\n", err)
		return
	}
	fmt.Fprintln(w, "vmm: what KVM handled in the kernel (its statistics, vCPUs summed; exits counts every exit, vmm's too):")
	var parts []string
	for _, k := range kvmStatsShown() {
		if v, ok := vcpus[k]; ok {
			parts = append(parts, fmt.Sprintf("%s %d", k, v))
		}
	}
	for _, k := range []string{"pages_4k", "pages_2m", "pages_1g", "remote_tlb_flush"} {
		if v, ok := vm[k]; ok {
			parts = append(parts, fmt.Sprintf("%s %d", k, v))
		}
	}
	for i := 0; i < len(parts); i += 5 {
		fmt.Fprintf(w, "  %s\n", strings.Join(parts[i:min(i+5, len(parts))], ", "))
	}
}

// traceLive prints one line a second while the machine runs: the exits
// that reached vmm in that second (top causes) and KVM's own count.
func traceLive(ctx context.Context, w io.Writer, m *machine.Machine) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	start := time.Now()
	last := map[string]uint64{}
	var lastKVM uint64
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		type delta struct {
			cause string
			n     uint64
		}
		var ds []delta
		var sum uint64
		for _, s := range m.ExitStats() {
			if d := s.Count - last[s.Cause]; d > 0 {
				ds = append(ds, delta{s.Cause, d})
				sum += d
			}
			last[s.Cause] = s.Count
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i].n > ds[j].n })
		var top []string
		for _, d := range ds[:min(len(ds), 4)] {
			top = append(top, fmt.Sprintf("%s %d", d.cause, d.n))
		}
		line := fmt.Sprintf("vmm: t=%ds exits to vmm +%d (%s)", int(time.Since(start).Seconds()), sum, strings.Join(top, ", "))
		if _, vcpus, err := m.KVMStats(); err == nil {
			line += fmt.Sprintf("; KVM exits +%d", vcpus["exits"]-lastKVM)
			lastKVM = vcpus["exits"]
		}
		fmt.Fprintln(w, line)
	}
}

// traceOf is what --trace-exits adds to the --json result.
func traceOf(m *machine.Machine) *runresult.Trace {
	t := &runresult.Trace{CoalescedWrites: m.CoalescedWrites()}
	for _, s := range m.ExitStats() {
		t.Exits = append(t.Exits, runresult.ExitStat{Cause: s.Cause, Device: s.Device, Count: s.Count, TotalMS: ms(s.Total)})
	}
	if vm, vcpus, err := m.KVMStats(); err == nil {
		t.KVM = &runresult.KVMStats{VM: vm, VCPUs: vcpus}
	}
	return t
}
