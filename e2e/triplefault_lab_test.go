//go:build loadtest

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vmmlab/vmm/lab/labenv"

	"github.com/vmmlab/vmm/internal/kvmtest"
	"github.com/vmmlab/vmm/internal/qemuvm"
	"github.com/vmmlab/vmm/internal/testkernel"
)

// TestTripleFaultRate boots the minimal kernel to its workload and back
// to power-off under vmm and under QEMU's microvm, alternately, with the
// same kernel, initramfs and command line, and counts the boots that
// ended in a guest triple fault (an SVM shutdown exit in the outer
// kernel's trace). It is an experiment, not a regression test: it says
// whether the rare triple faults seen in the nested lab belong to vmm or
// to the emulated host, and prints the exits that led to each one.
func TestTripleFaultRate(t *testing.T) {
	l := kernelOnly(t)
	micro := kvmtest.File(t, labenv.EnvMicroKernel)
	image := kvmtest.File(t, labenv.EnvWorkloadInitramfs)
	qemu, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		t.Fatal("qemu-system-x86_64 is not in the outer guest")
	}
	rounds := 40
	if s := os.Getenv("VMM_LAB_ROUNDS"); s != "" {
		rounds, _ = strconv.Atoi(s)
	}
	tr := startKVMTrace(t)
	cmdline := testWorkload("0")
	type tally struct{ ok, tripleFaults, other int }
	counts := map[string]*tally{"vmm": {}, "qemu": {}}
	run := func(who string, i int, cmd *exec.Cmd) {
		tr.clear(t)
		out, err := cmd.CombinedOutput()
		tail := tr.shutdownTail(t, 60)
		c := counts[who]
		switch {
		case tail != "":
			c.tripleFaults++
			t.Logf("%s boot %d: triple fault; the last KVM events before it:\n%s\nconsole:\n%s", who, i, tail, out)
		case err != nil || !strings.Contains(string(out), "WORKLOAD-HELLO"):
			c.other++
			t.Logf("%s boot %d: %v\n%s", who, i, err, out)
		default:
			c.ok++
		}
	}
	// The control: a kernel that triple-faults on purpose must be seen.
	tr.clear(t)
	exec.Command(l.vmm, "boot", "--kernel", writeKernel(t, testkernel.UD2), "--mem", "64M").Run()
	if tr.shutdownTail(t, 5) == "" {
		t.Fatal("a deliberate triple fault left no shutdown exit in the trace: the count below would mean nothing")
	}
	for i := range rounds {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		run("vmm", i, exec.CommandContext(ctx, l.vmm, "boot", "--kernel", micro, "--initrd", image, "--mem", "128M", "--cmdline", cmdline))
		run("qemu", i, exec.CommandContext(ctx, qemu, qemuvm.Microvm{MemMiB: 128, Kernel: micro, Initrd: image, Cmdline: cmdline}.Args()...))
		cancel()
		fmt.Printf("TestTripleFaultRate: round %d: vmm %+v qemu %+v\n", i, *counts["vmm"], *counts["qemu"]) // keeps the idle watchdog quiet
	}
	t.Logf("after %d rounds: vmm %+v, qemu %+v", rounds, *counts["vmm"], *counts["qemu"])
	if counts["vmm"].tripleFaults+counts["qemu"].tripleFaults > 0 {
		t.Errorf("guests triple-faulted: vmm %d, qemu %d of %d boots each", counts["vmm"].tripleFaults, counts["qemu"].tripleFaults, rounds)
	}
}

// TestTwentyAtOnceVMMAndQEMU boots 20 minimal-kernel guests at once under
// vmm, then 20 under QEMU's microvm (same kernel, initramfs and command
// line, 96 MiB each, no devices but the console), twice, and counts the
// guests that triple-faulted (SVM shutdown exits in the outer kernel's
// trace), each with the event KVM was delivering when it happened.
func TestTwentyAtOnceVMMAndQEMU(t *testing.T) {
	l := kernelOnly(t)
	micro := kvmtest.File(t, labenv.EnvMicroKernel)
	image := kvmtest.File(t, labenv.EnvWorkloadInitramfs)
	qemu, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		t.Fatal("qemu-system-x86_64 is not in the outer guest")
	}
	tr := startKVMTrace(t)
	cmdline := testWorkload("0")
	commands := map[string]func(ctx context.Context) *exec.Cmd{
		"vmm": func(ctx context.Context) *exec.Cmd {
			return exec.CommandContext(ctx, l.vmm, "boot", "--kernel", micro, "--initrd", image, "--mem", "96M", "--rng", "off", "--cmdline", cmdline)
		},
		"qemu": func(ctx context.Context) *exec.Cmd {
			return exec.CommandContext(ctx, qemu, qemuvm.Microvm{MemMiB: 96, Kernel: micro, Initrd: image, Cmdline: cmdline}.Args()...)
		},
	}
	faults := map[string]int{}
	for round := range 2 {
		for _, who := range []string{"vmm", "qemu"} {
			tr.clear(t)
			var wg sync.WaitGroup
			for range 20 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
					defer cancel()
					commands[who](ctx).Run()
				}()
			}
			wg.Wait()
			b, _ := os.ReadFile(filepath.Join(tr.dir, "trace"))
			n := 0
			for _, line := range strings.Split(string(b), "\n") {
				if strings.Contains(line, "reason shutdown") {
					n++
					fmt.Printf("TestTwentyAtOnceVMMAndQEMU: %s round %d: %s\n", who, round, strings.TrimSpace(line))
				}
			}
			faults[who] += n
			fmt.Printf("TestTwentyAtOnceVMMAndQEMU: round %d: 20 guests under %s, %d triple faults\n", round, who, n)
		}
	}
	t.Logf("triple faults in 40 guests each, 20 at a time: vmm %d, qemu %d", faults["vmm"], faults["qemu"])
	if faults["vmm"]+faults["qemu"] > 0 {
		t.Errorf("guests triple-faulted: vmm %d, qemu %d", faults["vmm"], faults["qemu"])
	}
}
