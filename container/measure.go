package container

import (
	"context"
	"fmt"

	"github.com/vmmlab/vmm/cgroup"
)

// Report is what one measured run of a workload found: how it ended,
// the time to its marker, and its memory. `vmm container run` prints it.
type Report struct {
	Runtime       string  `json:"runtime"`
	Version       string  `json:"version"`
	Cgroups       string  `json:"cgroups"`
	Workaround    string  `json:"workaround,omitempty"`
	Exit          string  `json:"exit"`
	ExitCode      int     `json:"exit_code"`
	Signal        string  `json:"signal,omitempty"`
	OOMKilled     bool    `json:"oom_killed"`
	MarkerMS      float64 `json:"marker_ms,omitempty"`
	MemoryKiB     uint64  `json:"memory_kib"`
	PeakKiB       uint64  `json:"memory_peak_kib"`
	KernelSlabKiB int64   `json:"kernel_slab_delta_kib"`
	Address       string  `json:"address,omitempty"`
}

// Measure starts c under r, reads its memory once the marker (if any)
// was seen, waits for the workload to end and removes the container. The
// report holds what was measured up to an error.
func (r *Runtime) Measure(ctx context.Context, c Config, o StartOptions) (Report, error) {
	rep := Report{Runtime: r.Name, Version: r.Version, Cgroups: r.Mode.String(), Workaround: r.Workaround()}
	ct, err := r.Start(ctx, c, o)
	if err != nil {
		return rep, err
	}
	defer ct.Stop()
	if ct.Addr.IsValid() {
		rep.Address = ct.Addr.String()
	}
	if o.Marker != "" && ct.MarkerAfter == 0 {
		return rep, fmt.Errorf("the workload ended without printing %q", o.Marker)
	}
	rep.MarkerMS = float64(ct.MarkerAfter.Microseconds()) / 1000
	if m, err := ct.Memory(); err == nil {
		rep.MemoryKiB, rep.PeakKiB = m.Current>>10, m.Peak>>10
	}
	if k, err := cgroup.ReadKernelMemory("/proc/meminfo"); err == nil {
		rep.KernelSlabKiB = k.Sub(ct.KernelBefore).Slab >> 10
	}
	exit, err := ct.Wait(ctx, o.Relay)
	if err != nil {
		return rep, err
	}
	if m, err := ct.Memory(); err == nil && m.Peak>>10 > rep.PeakKiB {
		rep.PeakKiB = m.Peak >> 10
	}
	rep.Exit, rep.ExitCode, rep.OOMKilled, rep.Signal = exit.String(), exit.Code, exit.OOMKilled, exit.Signal
	return rep, ct.Stop()
}
