// Command vmm-lab runs the project's KVM tests for real on a machine without
// /dev/kvm: it builds every package that has *_lab_test.go files into a
// static test binary, boots them in a QEMU TCG guest whose kernel loads
// kvm_amd, and reports every result. `vmm-lab kernel` only fetches the
// Debian kernel and prints where it is.
package main

import (
	"context"
	"fmt"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	flag "github.com/spf13/pflag"

	"github.com/vmmlab/vmm/image/debian"
	"github.com/vmmlab/vmm/internal/cachedir"
	"github.com/vmmlab/vmm/lab"
)

type options struct {
	cache, work, kernelPkg, busybox, qemu, qemuMem, run string
	benchArgs, benchOut                                 string
	bench                                               bool
	pkgs                                                []string
	smp, retries                                        int
	timeout, totalTimeout, testTimeout, idle            time.Duration
	testStall                                           time.Duration
	maxLockup                                           time.Duration
}

func main() {
	var o options

	flag.StringVar(&o.cache, "cache", "", "cache for downloaded kernels (default: vmm's cache directory, ~/.cache/vmm)")
	flag.StringVar(&o.work, "work", "build/lab", "directory for test binaries, the outer image and the console log")
	flag.StringVar(&o.kernelPkg, "kernel-package", "linux-image-amd64", "Debian kernel package for the outer (and inner) guest")
	flag.StringVar(&o.busybox, "busybox", "/bin/busybox", "statically linked busybox (package busybox-static)")
	flag.StringVar(&o.qemu, "qemu", "qemu-system-x86_64", "QEMU binary for the outer guest (one unpacked with dpkg -x finds its firmware beside it, then in /usr/share/qemu)")
	flag.StringVar(&o.qemuMem, "qemu-mem", "3G", "memory of the outer guest")
	flag.IntVar(&o.smp, "qemu-smp", 2, "vCPUs of the outer guest")
	flag.StringSliceVar(&o.pkgs, "pkgs", nil, "packages to test (default: every package with *_lab_test.go files)")
	flag.StringVar(&o.run, "run", "", "run only the tests matching this regular expression (go test -run)")
	flag.DurationVar(&o.timeout, "timeout", 70*time.Minute, "limit for one boot of the outer guest")
	flag.DurationVar(&o.totalTimeout, "total-timeout", 75*time.Minute, "limit for all boots of the outer guest together (0: --timeout for each)")
	flag.DurationVar(&o.idle, "idle-timeout", 5*time.Minute, "stop when the outer guest's console is silent this long (a hang)")
	flag.DurationVar(&o.maxLockup, "max-lockup", 90*time.Second, "stop when the outer kernel reports a CPU stuck this long (soft lockup)")
	flag.IntVar(&o.retries, "retries", 5, "boot the outer guest again up to this many times when it locks up, panics, resets or hangs (never for test failures); the tests go on from where it stopped")
	flag.StringVar(&o.benchArgs, "bench-args", "--runs 10 --max 60 --budget 2G --large-image 128M", "vmm-lab bench: extra flags for `vmm bench all` in the outer guest")
	flag.StringVar(&o.benchOut, "bench-out", "build/bench", "vmm-lab bench: where the report goes")
	flag.DurationVar(&o.testTimeout, "test-timeout", 60*time.Minute, "limit for each test binary inside the guest")
	flag.DurationVar(&o.testStall, "test-stall", lab.DefaultTestStall, "stop a test binary whose output has stopped this long (a hung test), show where the guest's processes are, and boot the outer guest again to go on")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: vmm-lab [run|bench|kernel|images] [flags]\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if o.cache == "" {
		var err error
		if o.cache, err = cachedir.Dir(); err != nil {
			fmt.Fprintln(os.Stderr, "vmm-lab:", err)
			os.Exit(1)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch cmd := flag.Arg(0); cmd {
	case "", "run":
		err = runLab(ctx, o)
	case "bench":
		o.bench = true
		if !flag.CommandLine.Changed("timeout") {
			o.timeout = 45 * time.Minute // the whole benchmark runs in one outer boot
		}
		if !flag.CommandLine.Changed("retries") {
			o.retries = 1 // the bench starts again from the beginning
		}
		if !flag.CommandLine.Changed("qemu-mem") {
			o.qemuMem = "6G" // the density runs' 2 GiB budget beside docker, containerd and the images
		}
		if !flag.CommandLine.Changed("total-timeout") {
			o.totalTimeout = 0
		}
		err = runBench(ctx, o)
	case "images":
		var set debian.Set
		if set, err = debian.Build(ctx, o.cache, os.Stderr); err == nil {
			for _, name := range slices.Sorted(maps.Keys(set.Files)) {
				fmt.Printf("%s %s\n", name, set.Files[name])
			}
		}
	case "kernel":
		var k lab.Kernel
		if k, err = lab.DebianKernel(ctx, o.cache, o.kernelPkg); err == nil {
			fmt.Printf("package %s\nbzImage %s\nmodules %s\n", k.Package, k.BzImage, k.ModulesDir)
		}
	default:
		err = fmt.Errorf("unknown command %q", cmd)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "vmm-lab:", err)
		os.Exit(1)
	}
}

// runLab runs the lab (lab.Run) and reports each test binary's results,
// or for the bench, writes its report.
func runLab(ctx context.Context, o options) error {
	start := time.Now()
	out, err := lab.Run(ctx, lab.Options{Cache: o.cache, Work: o.work, KernelPackage: o.kernelPkg, Busybox: o.busybox,
		QEMU: o.qemu, QEMUMemory: o.qemuMem, SMP: o.smp, Packages: o.pkgs, Run: o.run, Timeout: o.timeout, TotalTimeout: o.totalTimeout, Idle: o.idle,
		MaxLockup: o.maxLockup, Retries: o.retries, TestTimeout: o.testTimeout, TestStall: o.testStall, Bench: o.bench, BenchArgs: o.benchArgs,
		Log: os.Stdout})
	if err != nil {
		return err
	}
	if o.bench {
		if f := out.Boot.OuterFailure(); f != "" {
			return fmt.Errorf("bench: %s", f)
		}
		return writeBenchReport(out.Boot.Events, o.benchOut)
	}
	names := make([]string, 0, len(out.Tests))
	for n := range out.Tests {
		names = append(names, n)
	}
	r := lab.Results(out.Boot.Events, names, out.Boot.Stopped != nil)
	r.Filtered = o.run != ""
	r.OuterFailure = out.Boot.OuterFailure()
	for _, b := range r.Binaries {
		fmt.Printf("lab: %-28s exit=%d passed=%d failed=%d skipped=%d guest-time=%.1fs\n",
			b.Name, b.Exit, len(b.Passed), len(b.Failed), len(b.Skipped), b.Seconds)
		if len(b.Failed) > 0 {
			fmt.Printf("lab: %-28s failed: %s\n", "", strings.Join(b.Failed, ", "))
		}
		for _, f := range b.Failed {
			if w := b.Why[f]; w != "" {
				fmt.Printf("lab: %-28s why %s: %s\n", "", f, cut(w, 600))
			}
		}
	}
	fmt.Printf("lab: wall time %.1fs (console log: %s)\n", time.Since(start).Seconds(), out.ConsoleLog)
	passed, failed := r.Counts()
	problems := r.Problems()
	for _, p := range problems {
		fmt.Println("lab: FAIL:", p)
	}
	for i, l := range out.Discarded {
		fmt.Printf("lab: note: boot %d of the outer guest ended early (%s); boot %d went on with the tests that had not finished\n", i+1, l, i+2)
	}
	for _, l := range lab.StallSummary(out.Boot.Events) {
		fmt.Println("lab: stall:", l)
	}
	fmt.Printf("e2e: %d passed, %d failed\n", passed, failed)
	if len(problems) > 0 {
		return fmt.Errorf("%d problem(s)", len(problems))
	}
	return nil
}

// cut shortens s to at most n bytes, saying so.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + " [...]"
}
