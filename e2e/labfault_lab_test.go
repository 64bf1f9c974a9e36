package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/vmmlab/vmm/lab/labfault"
	"github.com/vmmlab/vmm/runresult"
)

// labFault names the nested lab's known fault that a failed run shows,
// or says "" for any other failure. It reads the results vmm printed in
// out (with --json or --result-file: package runresult) and classifies
// them by the one table of known faults (package labfault), never by
// vmm's messages; a fault the table says the result alone does not prove
// (a triple fault) counts only when the outer kernel's KVM trace of the
// run shows the CPU delivering an event at it. Every test that retries a
// run for the lab's sake asks this one function.
func labFault(t *testing.T, tr *kvmTrace, out string) string {
	t.Helper()
	for _, r := range runresult.Find([]byte(out)) {
		f, ok := labfault.Classify(r)
		switch {
		case !ok:
		case !f.NeedsDeliveryTrace:
			return f.Why + vcpuStates(r)
		case tr.deliveryFaults(t) > 0:
			return f.Why + "; the outer kernel's last KVM events:\n" + tr.shutdownTail(t, 40)
		}
	}
	return ""
}

// resultFault is labFault for the faults a result proves by itself (no
// KVM trace needed).
func resultFault(out string) string {
	for _, r := range runresult.Find([]byte(out)) {
		if f, ok := labfault.Classify(r); ok && !f.NeedsDeliveryTrace {
			return f.Why + vcpuStates(r)
		}
	}
	return ""
}

// vcpuStates lists the vCPUs of r where they stopped.
func vcpuStates(r runresult.Result) string {
	var b strings.Builder
	for _, v := range r.VCPUs {
		fmt.Fprintf(&b, "\n  vCPU %d: rip %#x cr3 %#x (top page table outside guest RAM: %v)", v.ID, v.RIP, v.CR3, v.TopTableOutsideRAM)
	}
	return b.String()
}

// labTries is how many times in all an e2e test runs vmm when every
// earlier run ended in one of the nested lab's known faults. The Debian
// kernel's verbose boots hit one on about every other try in some runs
// (CI runs saw four and then five in a row on one docs command); the
// retries cost only runs that faulted, each of which the log shows with
// its evidence.
const labTries = 8

// retryLabFault runs attempt, and again when it failed with one of the
// nested lab's known faults (labFault), saying so in the log, up to tries
// attempts in all; any other failure is not run again. The trace is
// emptied before each attempt, so that labFault reads that attempt's
// faults only. It returns the last attempt's result. attempt returns its
// result, its output (console and stderr) and whether it failed. Every
// e2e test that runs vmm again for the lab's sake goes through here, but
// TestTwentyVMsAtOnce, which classifies each VM's fault from the faults
// trace instance itself (tripleFaultKind).
func retryLabFault[R any](t *testing.T, tr *kvmTrace, what string, tries int, attempt func() (r R, out string, failed bool)) R {
	t.Helper()
	for n := 1; ; n++ {
		tr.clear(t)
		r, out, failed := attempt()
		if !failed || n == tries {
			return r
		}
		fault := labFault(t, tr, out)
		if fault == "" {
			return r
		}
		t.Logf("%s, attempt %d of %d: %s\nrunning it again", what, n, tries, fault)
	}
}

// retryOutput is retryLabFault for a command whose output and error run
// returns: a command that failed with one of the lab's known faults runs
// again, up to tries times in all.
func retryOutput(t *testing.T, tr *kvmTrace, what string, tries int, run func() ([]byte, error)) ([]byte, error) {
	t.Helper()
	type result struct {
		out []byte
		err error
	}
	r := retryLabFault(t, tr, what, tries, func() (result, string, bool) {
		out, err := run()
		return result{out, err}, string(out), err != nil
	})
	return r.out, r.err
}
