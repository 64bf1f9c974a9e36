package e2e

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vmmlab/vmm/internal/ksm"
	"github.com/vmmlab/vmm/internal/kvmtest"
	"github.com/vmmlab/vmm/lab/labenv"
)

// Two identical guests booted with --ksm share pages once the host's
// ksmd runs: each VMM has merged pages, its guest RAM is marked
// mergeable and kept off huge pages, and the host's KSM settings are put
// back afterwards.
func TestKSMMergesTwoGuests(t *testing.T) {
	l := kernelOnly(t)
	if err := ksm.Available(); err != nil {
		t.Fatalf("the lab's outer kernel should have KSM: %v", err)
	}
	tr := startKVMTrace(t)
	micro := kvmtest.File(t, labenv.EnvMicroKernel)
	image := kvmtest.File(t, labenv.EnvWorkloadInitramfs)
	var vms []*vmmProc
	for range 2 {
		vms = append(vms, startRetried(t, tr, l.vmm, nil, func(p *vmmProc) bool { return p.waitFor("SLEEPING", 3*time.Minute) },
			"boot", "--kernel", micro, "--virtio", "mmio", "--initrd", image, "--mem", "96M", "--ksm",
			"--cmdline", testWorkload("sleep", "900")))
	}
	restore, err := ksm.Enable(ksm.Settings{PagesToScan: 1000, SleepMillisecs: 20})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := restore(); err != nil {
			t.Error(err)
		}
	}()
	cpu0, _ := ksm.DaemonCPU()
	start := time.Now()
	st, settled, err := ksm.Settle(context.Background(), 5*time.Minute, time.Second)
	cpu1, _ := ksm.DaemonCPU()
	t.Logf("merging %s after %v (lab time): %+v, %.1f MiB saved, ksmd CPU %v", map[bool]string{true: "settled", false: "did not settle"}[settled],
		time.Since(start).Round(time.Second), st, float64(st.Saved())/(1<<20), cpu1-cpu0)
	if err != nil {
		t.Fatal(err)
	}
	for i, vm := range vms {
		pid := vm.cmd.Process.Pid
		merged, err := ksm.ProcessMerging(pid)
		if err != nil || merged < 256 {
			t.Errorf("VM %d: %d of its pages merged (%v); want at least 256 (1 MiB) of two identical guests", i, merged, err)
		}
		flags := guestRAMFlags(t, pid)
		if !strings.Contains(flags+" ", " mg ") || !strings.Contains(flags+" ", " nh ") {
			t.Errorf("VM %d: guest RAM's VmFlags %q lack mg (mergeable) or nh (no huge pages)", i, flags)
		}
		t.Logf("VM %d: %d pages (%.1f MiB) merged, PSS %d KiB", i, merged, float64(merged)/256, vm.pssKiB())
	}
}

// guestRAMFlags is the VmFlags of vmm pid's mapping with the most
// resident memory: guest RAM (by size, a reservation can be larger).
func guestRAMFlags(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps", pid))
	if err != nil {
		t.Fatal(err)
	}
	var best, size int
	flags := ""
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[0] == "Rss:" {
			fmt.Sscanf(f[1], "%d", &size)
		}
		if rest, ok := strings.CutPrefix(l, "VmFlags:"); ok && size > best {
			best, flags = size, strings.TrimSpace(rest)
		}
	}
	return " " + flags
}
