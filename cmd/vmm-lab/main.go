// Command vmm-lab runs the project's KVM tests for real on a machine without
// /dev/kvm: it builds every package that has *_lab_test.go files into a
// static test binary, boots them in a QEMU TCG guest whose kernel loads
// kvm_amd, and reports every result. `vmm-lab kernel` only fetches the
// Debian kernel and prints where it is.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	flag "github.com/spf13/pflag"

	"github.com/vmmlab/vmm/initramfs"
	"github.com/vmmlab/vmm/lab"
)

type options struct {
	cache, work, kernelPkg, busybox, qemuMem, run string
	benchArgs, benchOut                           string
	bench                                         bool
	pkgs                                          []string
	smp, retries                                  int
	timeout, testTimeout, idle, maxLockup         time.Duration
}

// defaultCache is ~/.cache/vmm, or an absolute directory under the
// system's temporary one when there is no home: never one relative to the
// clone.
func defaultCache() string {
	home, err := os.UserCacheDir()
	if err != nil {
		home = filepath.Join(os.TempDir(), "cache")
	}
	return filepath.Join(home, "vmm")
}

func main() {
	var o options

	flag.StringVar(&o.cache, "cache", defaultCache(), "cache for downloaded kernels (outside the clone)")
	flag.StringVar(&o.work, "work", "build/lab", "directory for test binaries, the outer image and the console log")
	flag.StringVar(&o.kernelPkg, "kernel-package", "linux-image-amd64", "Debian kernel package for the outer (and inner) guest")
	flag.StringVar(&o.busybox, "busybox", "/bin/busybox", "statically linked busybox (package busybox-static)")
	flag.StringVar(&o.qemuMem, "qemu-mem", "3G", "memory of the outer guest")
	flag.IntVar(&o.smp, "qemu-smp", 2, "vCPUs of the outer guest")
	flag.StringSliceVar(&o.pkgs, "pkgs", nil, "packages to test (default: every package with *_lab_test.go files)")
	flag.StringVar(&o.run, "run", "", "run only the tests matching this regular expression (go test -run)")
	flag.DurationVar(&o.timeout, "timeout", 25*time.Minute, "limit for one QEMU run")
	flag.DurationVar(&o.idle, "idle-timeout", 5*time.Minute, "stop when the outer guest's console is silent this long (a hang)")
	flag.DurationVar(&o.maxLockup, "max-lockup", 90*time.Second, "stop when the outer kernel reports a CPU stuck this long (soft lockup)")
	flag.IntVar(&o.retries, "retries", 1, "boot the outer guest again this many times when its kernel locks up or panics (never for test failures)")
	flag.StringVar(&o.benchArgs, "bench-args", "--runs 10 --max 60 --budget 2G --large-image 128M", "vmm-lab bench: extra flags for `vmm bench all` in the outer guest")
	flag.StringVar(&o.benchOut, "bench-out", "build/bench", "vmm-lab bench: where the report goes")
	flag.DurationVar(&o.testTimeout, "test-timeout", 15*time.Minute, "limit for each test binary inside the guest")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: vmm-lab [run|bench|kernel] [flags]\n")
		flag.PrintDefaults()
	}
	flag.Parse()
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
		err = runBench(ctx, o)
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

func runLab(ctx context.Context, o options) error {
	start := time.Now()
	phase := func(name string, t0 time.Time) {
		fmt.Printf("lab: %-28s %6.1fs\n", name, time.Since(t0).Seconds())
	}
	if err := os.MkdirAll(filepath.Join(o.work, "tests"), 0o755); err != nil {
		return err
	}
	t0 := time.Now()
	tests, runs := map[string]string{}, map[string]string{}
	if !o.bench {
		pkgs := o.pkgs
		if len(pkgs) == 0 {
			var err error
			if pkgs, err = labPackages(ctx); err != nil {
				return err
			}
		}
		var err error
		if tests, runs, err = buildTests(ctx, pkgs, filepath.Join(o.work, "tests")); err != nil {
			return err
		}
	}
	bins := map[string]string{}
	for name, pkg := range map[string]string{"vmm": "./cmd/vmm", "vmm-bench": "./cmd/vmm-bench", "vmm-tools": "./cmd/vmm-tools", "vmm-init": "./cmd/vmm-init", "testworkload": "./cmd/testworkload",
		"kvmpin": "./cmd/kvmpin"} {
		bins[name] = filepath.Join(o.work, name)
		var flags []string
		switch name {
		case "vmm-init":
			flags = []string{stripFlags} // it lands in every guest image
		case "vmm":
			flags = []string{vmmFlags}
		}
		if err := goBuild(ctx, bins[name], pkg, flags...); err != nil {
			return err
		}
	}
	phase("build vmm and test binaries", t0)

	t0 = time.Now()
	k, err := lab.DebianKernel(ctx, o.cache, o.kernelPkg)
	if err != nil {
		return err
	}
	phase("kernel "+k.Version, t0)

	t0 = time.Now()
	micro, err := lab.MicroKernel(ctx, "guestkernel/build.sh", o.cache, os.Stderr)
	if err != nil {
		return err
	}
	phase("minimal guest kernel", t0)

	t0 = time.Now()
	images, err := guestImages(ctx, o.cache, o.work, k, bins)
	if err != nil {
		return err
	}
	phase("guest initramfs images", t0)
	diskImage, err := ext4Image(ctx, o.work)
	if err != nil {
		return err
	}

	benchFiles, err := benchAssets(ctx, o.cache, o.work, k, bins["vmm-init"])
	if err != nil {
		return err
	}
	hostFiles, err := lab.WithLibraries("crun", "runc")
	if err != nil {
		return fmt.Errorf("container runtimes for the outer guest (make deps installs them): %w", err)
	}
	hostFiles = appendNew(hostFiles, benchHostFiles()...)
	t0 = time.Now()
	outer := lab.Outer{HostFiles: hostFiles,
		Busybox: o.busybox, Kernel: k, Modules: []string{"kvm_amd", "tun", "bridge", "veth", "overlay"}, Tests: tests, Runs: runs,
		// "never" also keeps KVM from starting its NX huge page recovery
		// thread, which was one of the two CPUs stuck when the emulated
		// outer kernel locked up (soft lockup) in CI.
		ModuleParams: map[string]string{"kvm": "nx_huge_pages=never"},
		Files: map[string]string{"bzImage": k.BzImage, "bzImage-micro": micro, "vmlinux-micro": filepath.Join(filepath.Dir(micro), "vmlinux"), "vmm": bins["vmm"], "vmm-bench": bins["vmm-bench"], "vmm-tools": bins["vmm-tools"], "testworkload": bins["testworkload"], "kvmpin": bins["kvmpin"],
			// beside /lab/vmm, so vmm boot finds it when --initrd is not given
			"initramfs.cpio.gz": images["default"], "workload.cpio.gz": images["workload"], "disk.img": diskImage},
		Env: map[string]string{lab.EnvKernel: "/lab/bzImage", lab.EnvMicroKernel: "/lab/bzImage-micro", lab.EnvMicroVmlinux: "/lab/vmlinux-micro", lab.EnvVMM: "/lab/vmm", lab.EnvTestWorkload: "/lab/testworkload",
			lab.EnvBusybox: "/bin/busybox", lab.EnvWorkloadInitramfs: "/lab/workload.cpio.gz",
			lab.EnvDisk:    "/lab/disk.img",
			"LAB_TEST_RUN": o.run, lab.EnvBench: "/lab/bench"},
		TestTimeoutSeconds: int(o.testTimeout.Seconds()),
	}
	for guest, host := range benchFiles {
		outer.Files[guest] = host
	}
	if o.bench {
		outer.Env["LAB_BENCH_ARGS"] = o.benchArgs
	}
	image := filepath.Join(o.work, "outer.cpio.gz")
	if err := writeFile(image, outer.Write); err != nil {
		return fmt.Errorf("outer initramfs: %w", err)
	}
	phase("outer initramfs", t0)

	t0 = time.Now()
	logPath := filepath.Join(o.work, "console.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	appendArgs := "console=ttyS0 rdinit=/init panic=-1 quiet"
	if !o.bench {
		// The tests run with transparent huge pages on request only
		// (madvise): default VMs on 4 KiB nested pages, the 2 MiB path in
		// its own test (--thp on); the bench keeps the outer kernel's
		// default ("always") and reports THP with its results. (This was
		// first meant to stop guests that triple-faulted in CI; those came
		// with bursts of console output, and none was seen after the UART
		// stopped raising an interrupt per byte.)
		appendArgs += " transparent_hugepage=madvise"
	}
	q := lab.QEMU{Kernel: k.BzImage, Initrd: image, Memory: o.qemuMem, SMP: o.smp, Timeout: o.timeout, Idle: o.idle,
		MaxLockup: o.maxLockup, Append: appendArgs}
	var boot lab.Boot
	var lockups []string
	for attempt := 1; ; attempt++ {
		boot, err = q.Boot(ctx, io.MultiWriter(os.Stdout, logFile))
		if err != nil {
			return err
		}
		failure := boot.OuterFailure()
		if failure == "" || attempt > o.retries {
			break
		}
		lockups = append(lockups, failure)
		fmt.Printf("lab: attempt %d: %s; booting the outer guest again (--retries %d)\n", attempt, failure, o.retries)
	}
	phase("QEMU run", t0)
	if o.bench {
		if f := boot.OuterFailure(); f != "" {
			return fmt.Errorf("bench: %s", f)
		}
		return writeBenchReport(boot.Lines, o.benchOut)
	}
	lines, timedOut := boot.Lines, boot.Stopped != nil

	names := make([]string, 0, len(tests))
	for n := range tests {
		names = append(names, n)
	}
	r := lab.Parse(lines, names, timedOut)
	r.Filtered = o.run != ""
	r.OuterFailure = boot.OuterFailure()
	for _, b := range r.Binaries {
		fmt.Printf("lab: %-28s exit=%d passed=%d failed=%d skipped=%d guest-time=%.1fs\n",
			b.Name, b.Exit, len(b.Passed), len(b.Failed), len(b.Skipped), b.Seconds)
	}
	fmt.Printf("lab: wall time %.1fs (console log: %s)\n", time.Since(start).Seconds(), logPath)
	passed, failed := r.Counts()
	problems := r.Problems()
	for _, p := range problems {
		fmt.Println("lab: FAIL:", p)
	}
	for i, l := range lockups {
		fmt.Printf("lab: note: attempt %d was discarded: %s\n", i+1, l)
	}
	fmt.Printf("e2e: %d passed, %d failed\n", passed, failed)
	if len(problems) > 0 {
		return fmt.Errorf("%d problem(s)", len(problems))
	}
	return nil
}

// labPackages lists the packages that have *_lab_test.go files.
func labPackages(ctx context.Context) ([]string, error) {
	out, err := exec.CommandContext(ctx, "go", "list", "-f",
		`{{.ImportPath}}{{range .TestGoFiles}} {{.}}{{end}}{{range .XTestGoFiles}} {{.}}{{end}}`, "./...").Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %w", err)
	}
	var pkgs []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		for _, file := range f[1:] {
			if strings.HasSuffix(file, "_lab_test.go") {
				pkgs = append(pkgs, f[0])
				break
			}
		}
	}
	if len(pkgs) == 0 {
		return nil, fmt.Errorf("no package has *_lab_test.go files")
	}
	return pkgs, nil
}

// buildTests compiles each package's tests into a static binary named after
// its import path below the module (kvm.test, devices-virtio.test), and
// returns with each binary the -test.run expression of its lab tests.
func buildTests(ctx context.Context, pkgs []string, dir string) (tests, runs map[string]string, err error) {
	mod, err := exec.CommandContext(ctx, "go", "list", "-m").Output()
	if err != nil {
		return nil, nil, fmt.Errorf("go list -m: %w", err)
	}
	prefix := strings.TrimSpace(string(mod)) + "/"
	tests, runs = map[string]string{}, map[string]string{}
	for _, p := range pkgs {
		name := strings.ReplaceAll(strings.TrimPrefix(strings.TrimPrefix(p, prefix), "./"), "/", "-") + ".test"
		out := filepath.Join(dir, name)
		cmd := exec.CommandContext(ctx, "go", "test", "-c", "-o", out, p)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			return nil, nil, fmt.Errorf("go test -c %s: %w\n%s", p, err, b)
		}
		pkgDir, err := exec.CommandContext(ctx, "go", "list", "-f", "{{.Dir}}", p).Output()
		if err != nil {
			return nil, nil, fmt.Errorf("go list %s: %w", p, err)
		}
		names, err := lab.LabTests(strings.TrimSpace(string(pkgDir)))
		if err != nil {
			return nil, nil, err
		}
		if len(names) == 0 {
			return nil, nil, fmt.Errorf("package %s has no Test functions in *_lab_test.go files", p)
		}
		tests[name], runs[name] = out, lab.RunPattern(names)
	}
	return tests, runs, nil
}

// guestImages builds the u-root userland once and composes two images from
// it: the default one (shell, the kernel's virtio modules) and one with the
// test workload.
func guestImages(ctx context.Context, cache, work string, k lab.Kernel, bins map[string]string) (map[string]string, error) {
	base, err := initramfs.BuildURoot(ctx, cache, io.Discard)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for name, im := range map[string]initramfs.Image{
		"default":  {Init: bins["vmm-init"], ModulesFrom: k.ModulesDir},
		"workload": {Init: bins["vmm-init"], ModulesFrom: k.ModulesDir, Workloads: []string{bins["testworkload"]}},
	} {
		a, err := im.Compose(base)
		if err != nil {
			return nil, fmt.Errorf("%s image: %w", name, err)
		}
		out[name] = filepath.Join(work, name+".cpio.gz")
		if err := writeFile(out[name], a.WriteGzip); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ext4Image makes a 32 MiB ext4 image holding hello.txt, for the disk tests.
func ext4Image(ctx context.Context, work string) (string, error) {
	src := filepath.Join(work, "disk-root")
	os.RemoveAll(src)
	if err := os.MkdirAll(src, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(src, "hello.txt"), []byte("hello from the host disk\n"), 0o644); err != nil {
		return "", err
	}
	img := filepath.Join(work, "disk.img")
	os.Remove(img)
	out, err := exec.CommandContext(ctx, "mkfs.ext4", "-q", "-F", "-L", "vmmtest", "-d", src, img, "32M").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("mkfs.ext4 (package e2fsprogs): %w: %s", err, out)
	}
	return img, nil
}

// stripFlags builds programs that go into guests and container roots
// without symbol table and DWARF: a third less to load.
const stripFlags = "-ldflags=-s -w"

// vmmFlags builds vmm with its Go heap off transparent huge pages (as
// make build does): with the host's THP "always", the heap of every VM
// process otherwise grows by megabytes of huge pages.
const vmmFlags = "-ldflags=-X=runtime.godebugDefault=disablethp=1 -X=main.heapTHPOff=1"

// goBuild builds a static binary (the outer guest has no libraries).
func goBuild(ctx context.Context, out, pkg string, flags ...string) error {
	args := append(append([]string{"build", "-trimpath", "-buildvcs=auto"}, flags...), "-o", out, pkg)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", pkg, err, b)
	}
	return nil
}

func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
