package bench

import (
	"context"
	"time"

	"github.com/vmmlab/vmm/guestinit"
)

// memReportWait bounds how long a memory sample waits for the guest's
// report after its settle time.
const memReportWait = 20 * time.Second

// memReporter is an instance whose guest init prints a memory report.
type memReporter interface {
	guestMemReport() string
}

// guestMemory waits for in's guest memory report and returns its fields
// in KiB (nil: not a VM, or no report in time).
func guestMemory(ctx context.Context, in *Instance) map[string]uint64 {
	r, ok := in.ops.(memReporter)
	if !ok || in.GuestRAM == 0 {
		return nil
	}
	deadline := time.Now().Add(memReportWait)
	for {
		if line := r.guestMemReport(); line != "" {
			m, err := guestinit.ParseMemReport(line)
			if err != nil {
				return nil
			}
			return m
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// memReportAfter is vmm.memreport's seconds for a sample taken settle
// after ready: the report comes at the same moment.
func memReportAfter(settle time.Duration) int {
	return max(1, int((settle+time.Second-1)/time.Second))
}
