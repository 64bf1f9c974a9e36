package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vmmlab/vmm/internal/kvmtest"
	"github.com/vmmlab/vmm/lab/labenv"
	"github.com/vmmlab/vmm/runresult"
)

// 20 VMs booting at once on the lab's two vCPUs all power off cleanly.
//
// A VM still running after 3 minutes is stuck (one in 20 was, before the
// UART fixes): the test prints what KVM saw its vCPU do last, from the
// outer kernel's trace, then stops it.
func TestTwentyVMsAtOnce(t *testing.T) {
	l := kernelOnly(t)
	micro := kvmtest.File(t, labenv.EnvMicroKernel)
	image := kvmtest.File(t, labenv.EnvWorkloadInitramfs)
	tr := startKVMTrace(t)
	// faults[i] is what the lab's faults trace kept of VM i's last run
	// when its guest triple-faulted (kvmTrace.faultsOf), read as soon as
	// vmm ended.
	faults := make([]string, 20)
	boot := func(ctx context.Context, i int) ([]byte, error) {
		cmd := exec.CommandContext(ctx, l.vmm, "boot", "--json", "--kernel", micro, "--initrd", image, "--mem", "96M",
			"--cmdline", testWorkload("0"))
		// A VM still running after 3 minutes is stuck: what KVM saw its
		// vCPU do last goes into the log, then SIGTERM makes vmm print
		// where its vCPU was (registers, page walk); SIGKILL if it does
		// not end 20 s later.
		cmd.Cancel = func() error {
			fmt.Printf("TestTwentyVMsAtOnce: VM %d is stuck; its last KVM events:\n%s\n", i, tr.threadTail(cmd.Process.Pid, 60))
			return cmd.Process.Signal(syscall.SIGTERM)
		}
		cmd.WaitDelay = 20 * time.Second
		out, err := cmd.CombinedOutput()
		faults[i] = ""
		if endedAs(out, func(r runresult.Result) bool { return r.Cause == runresult.CauseTripleFault }) {
			faults[i] = tr.faultsOf(cmd.Process.Pid)
			faults[i] += "\n" + tr.beforeShutdown(faults[i], 40)
		}
		return out, err
	}
	var wg sync.WaitGroup
	errs := make([]error, 20)
	outs := make([][]byte, 20)
	start := time.Now()
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			outs[i], errs[i] = boot(ctx, i)
			fmt.Printf("TestTwentyVMsAtOnce: VM %d ended\n", i)
		}()
	}
	wg.Wait()
	t.Logf("20 VMs booted and powered off in %v (lab time)", time.Since(start).Round(time.Second))
	clean := func(i int) bool {
		return errs[i] == nil && endedAs(outs[i], func(r runresult.Result) bool { return r.Reason == runresult.PowerOff })
	}
	// A guest that triple-faulted while the CPU delivered an event to it
	// hit the nested lab's known fault (see deliveryFaults): said in the
	// log with its trace, and booted again, one at a time. Any other
	// triple fault fails the test, with what the trace kept of it.
	for i := range errs {
		if clean(i) || faults[i] == "" {
			continue
		}
		kind := tripleFaultKind(faults[i])
		t.Logf("VM %d triple-faulted (%s); the lab's faults trace of it:\n%s", i, kindText[kind], faults[i])
		if kind == "delivery" {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			outs[i], errs[i] = boot(ctx, i)
			cancel()
			t.Logf("VM %d booted again", i)
		}
	}
	// The nested lab's other known fault (resultFault: a guest stuck on
	// a CR3 outside its RAM) is said in the log with its vCPUs, and that
	// VM is booted once more.
	for i := range errs {
		if fault := resultFault(string(outs[i])); !clean(i) && fault != "" {
			t.Logf("VM %d: %s\nbooting it once more", i, fault)
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			outs[i], errs[i] = boot(ctx, i)
			cancel()
		}
	}
	failed := false
	for i := range errs {
		if !clean(i) {
			t.Errorf("VM %d: %v\n%s", i, errs[i], outs[i])
			failed = true
		}
	}
	if failed {
		t.Logf("every triple fault in the outer kernel's KVM trace, with its vCPU's events before it:\n%s", tr.shutdownTails(25))
	}
}

// kindText explains tripleFaultKind's answers.
var kindText = map[string]string{
	"delivery": "the CPU shut down while delivering an event: the nested lab's known fault",
	"cpu":      "an SVM shutdown exit with no event being delivered",
	"kvm":      "KVM reported a shutdown with no shutdown exit: a triple fault it made itself",
	"":         "the trace kept no shutdown of it",
}

// endedAs says whether out holds a vmm result and its last one is how.
func endedAs(out []byte, how func(runresult.Result) bool) bool {
	rs := runresult.Find(out)
	return len(rs) > 0 && how(rs[len(rs)-1])
}
