package lab

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vmmlab/vmm/image/debian"
	"github.com/vmmlab/vmm/lab/labenv"
	"github.com/vmmlab/vmm/lab/labproto"
)

// Options say what one lab run builds, ships and runs.
type Options struct {
	Cache         string        // downloaded kernels and built images (outside the clone)
	Work          string        // test binaries, the outer image and the console log
	KernelPackage string        // Debian kernel package of the outer (and inner) guest
	Busybox       string        // a static busybox
	QEMU          string        // QEMU binary (default qemu-system-x86_64)
	QEMUMemory    string        // memory of the outer guest
	SMP           int           // its vCPUs
	Packages      []string      // packages to test (none: every one with *_lab_test.go files)
	Run           string        // only the tests matching this expression
	Timeout       time.Duration // limit for one boot of the outer guest
	TotalTimeout  time.Duration // limit for all boots together (0: Timeout × (Retries+1))
	Idle          time.Duration // stop when the console is silent this long
	MaxLockup     time.Duration // stop when the outer kernel reports a CPU stuck this long
	Retries       int           // boots again after an outer lockup, panic or reset
	TestTimeout   time.Duration // per test binary inside the guest
	// TestStall stops a test binary whose output has stopped this long
	// (cmd/testwatch), after printing where the guest's processes are;
	// the outer guest then boots again and goes on (0: DefaultTestStall).
	TestStall time.Duration
	Bench     bool // run `vmm bench all` instead of the tests
	BenchArgs string
	Log       io.Writer // progress and the outer guest's console
}

// DefaultTestStall is how long a test binary may print nothing before
// testwatch stops it. The longest silence of a lab test binary in a CI
// run was 150 s (a retry after the lab's known guest fault); this leaves
// room for a machine several times slower.
const DefaultTestStall = 15 * time.Minute

// minBoot is the least time worth booting the outer guest again for.
const minBoot = 3 * time.Minute

// Outcome is what a lab run gave.
type Outcome struct {
	// Boot is the last boot; for tests, its Events are those of every
	// boot, the later ones having gone on from where the earlier stopped.
	Boot       Boot
	Tests      map[string]string // test binary name to its path
	Discarded  []string          // why earlier boots ended early (outer lockups, panics, resets)
	ConsoleLog string
}

// Run builds vmm, its helpers and the test binaries, the kernels and
// images, writes the outer initramfs and boots it under QEMU (again after
// an outer lockup or panic, up to Retries times). The caller reads the
// results from the Outcome's events (Results, or the bench's file).
func Run(ctx context.Context, o Options) (Outcome, error) {
	phase := func(name string, t0 time.Time) {
		fmt.Fprintf(o.Log, "lab: %-28s %6.1fs\n", name, time.Since(t0).Seconds())
	}
	if err := os.MkdirAll(filepath.Join(o.Work, "tests"), 0o755); err != nil {
		return Outcome{}, err
	}
	t0 := time.Now()
	tests, runs := map[string]string{}, map[string]string{}
	if !o.Bench {
		pkgs := o.Packages
		if len(pkgs) == 0 {
			var err error
			if pkgs, err = labPackages(ctx); err != nil {
				return Outcome{}, err
			}
		}
		var err error
		if tests, runs, err = buildTests(ctx, pkgs, filepath.Join(o.Work, "tests")); err != nil {
			return Outcome{}, err
		}
	}
	bins, err := buildPrograms(ctx, o.Work)
	if err != nil {
		return Outcome{}, err
	}
	phase("build vmm and test binaries", t0)

	t0 = time.Now()
	k, err := DebianKernel(ctx, o.Cache, o.KernelPackage)
	if err != nil {
		return Outcome{}, err
	}
	phase("kernel "+k.Version, t0)
	t0 = time.Now()
	micro, err := MicroKernel(ctx, "guestkernel/build.sh", o.Cache, os.Stderr)
	if err != nil {
		return Outcome{}, err
	}
	phase("minimal guest kernel", t0)

	t0 = time.Now()
	outer, err := outerImage(ctx, o, k, micro, bins, tests, runs)
	if err != nil {
		return Outcome{}, err
	}
	image := filepath.Join(o.Work, "outer.cpio.gz")
	if err := writeFile(image, outer.Write); err != nil {
		return Outcome{}, fmt.Errorf("outer initramfs: %w", err)
	}
	phase("outer initramfs", t0)

	t0 = time.Now()
	imgs, err := debian.Build(ctx, o.Cache, o.Log)
	if err != nil {
		return Outcome{}, err
	}
	disks, err := outerDisks(ctx, o.Work, assetFiles(imgs))
	if err != nil {
		return Outcome{}, err
	}
	phase("images and outer disks", t0)

	t0 = time.Now()
	fmt.Fprintf(o.Log, "lab: outer QEMU: %s\n", QEMU{Binary: o.QEMU}.Version())
	out, err := bootOuter(ctx, o, k, image, disks)
	out.Tests = tests
	phase("QEMU run", t0)
	return out, err
}

// buildPrograms builds vmm, its helpers, the guest init and the lab's
// helper programs into work.
func buildPrograms(ctx context.Context, work string) (map[string]string, error) {
	bins := map[string]string{}
	for name, pkg := range map[string]string{"vmm": "./cmd/vmm", "vmm-bench": "./cmd/vmm-bench", "vmm-tools": "./cmd/vmm-tools", "vmm-init": "./cmd/vmm-init", "testworkload": "./cmd/testworkload",
		"kvmpin": "./cmd/kvmpin", "testwatch": "./cmd/testwatch", "test2json": "cmd/test2json", "labevent": "./cmd/labevent"} {
		bins[name] = filepath.Join(work, name)
		var flags []string
		switch name {
		case "vmm-init":
			flags = []string{StripFlags} // it lands in every guest image
		case "vmm":
			flags = []string{VMMFlags}
		}
		if err := GoBuild(ctx, bins[name], pkg, flags...); err != nil {
			return nil, err
		}
	}
	return bins, nil
}

// outerImage describes the outer guest's initramfs: the kernels, images,
// disk, programs and test binaries, the host programs the tests and the
// bench run, and the environment that tells the tests where they are.
func outerImage(ctx context.Context, o Options, k Kernel, micro string, bins, tests, runs map[string]string) (Outer, error) {
	images, err := guestImages(ctx, o.Cache, o.Work, k, bins)
	if err != nil {
		return Outer{}, err
	}
	diskImage, err := ext4Image(ctx, o.Work)
	if err != nil {
		return Outer{}, err
	}
	benchFiles, err := BenchAssets(ctx, o.Cache, o.Work, k, bins["vmm-init"])
	if err != nil {
		return Outer{}, err
	}
	hostFiles, err := WithLibraries("crun", "runc", "mkfs.ext4")
	if err != nil {
		return Outer{}, fmt.Errorf("container runtimes and mkfs.ext4 (vmm run's image disks) for the outer guest (make deps installs them): %w", err)
	}
	hostFiles = appendNew(hostFiles, benchHostFiles()...)
	outer := Outer{HostFiles: hostFiles,
		Busybox: o.Busybox, Kernel: k, Modules: []string{"kvm_amd", "tun", "bridge", "veth", "overlay", "virtio_pci", "virtio_blk", "crc32c_generic", "ext4"}, Tests: tests, Runs: runs,
		// "never" also keeps KVM from starting its NX huge page recovery
		// thread, which was one of the two CPUs stuck when the emulated
		// outer kernel locked up (soft lockup) in CI. vgif=0: kvm_amd
		// intercepts STGI/CLGI instead of using the emulated CPU's virtual
		// GIF (our guests never run them). Back-to-back Debian boots took
		// the outer kernel down in 3 of 6 outer boots with the virtual GIF
		// (a corrupted stack end, page faults nesting off the end of a
		// vCPU thread's stack, resets) and in none of 5 with vgif=0; a
		// later full run with vgif=0 still panicked in TestTwentyVMsAtOnce.
		// Not the cure, then; it costs nothing, and the retries stay.
		ModuleParams: map[string]string{"kvm": "nx_huge_pages=never", "kvm_amd": "vgif=0"},
		Files: map[string]string{"bzImage": k.BzImage, "bzImage-micro": micro, "vmlinux-micro": filepath.Join(filepath.Dir(micro), "vmlinux"), "vmm": bins["vmm"], "vmm-bench": bins["vmm-bench"], "vmm-tools": bins["vmm-tools"], "vmm-init": bins["vmm-init"], "testworkload": bins["testworkload"], "kvmpin": bins["kvmpin"], "testwatch": bins["testwatch"], "test2json": bins["test2json"], "labevent": bins["labevent"],
			// beside /lab/vmm, so vmm boot finds it when --initrd is not given
			"initramfs.cpio.gz": images["default"], "workload.cpio.gz": images["workload"], "disk.img": diskImage},
		Env: map[string]string{labenv.EnvKernel: "/lab/bzImage", labenv.EnvMicroKernel: "/lab/bzImage-micro", labenv.EnvMicroVmlinux: "/lab/vmlinux-micro", labenv.EnvVMM: "/lab/vmm", labenv.EnvTestWorkload: "/lab/testworkload",
			labenv.EnvBusybox: "/bin/busybox", labenv.EnvWorkloadInitramfs: "/lab/workload.cpio.gz",
			labenv.EnvDisk: "/lab/disk.img", labenv.EnvImages: AssetsDir + "/images",
			"LAB_TEST_RUN": o.Run, labenv.EnvBench: "/lab/bench"},
		TestTimeoutSeconds: int(o.TestTimeout.Seconds()),
		TestStallSeconds:   int(o.TestStall.Seconds()),
	}
	for guest, host := range benchFiles {
		outer.Files[guest] = host
	}
	if o.Bench {
		outer.Env["LAB_BENCH_ARGS"] = strings.Join(append([]string{o.BenchArgs}, BenchApps(AssetsDir+"/images")...), " ")
	}
	return outer, nil
}

// BenchApps are vmm bench all's --app flags: the bench's http workload
// packed as an image (its start against the same program without one),
// and the application images of make images in dir that say when they
// are ready (their org.vmmlab.ready label).
func BenchApps(dir string) []string {
	out := []string{"--app", "workload:http"}
	for _, im := range debian.Images() {
		if im.Ready != "" {
			out = append(out, "--app", filepath.Join(dir, im.File))
		}
	}
	return out
}

// bootOuter boots the outer image under QEMU, the console going to o.Log
// and to console.log, and boots it again after the outer guest failed (a
// lockup, a panic, a reset; never after a test failure), up to o.Retries
// times and within o.TotalTimeout. A test run goes on from where the
// failed boot stopped (see resumeArgs) and its Outcome holds the console
// lines of every boot; the bench starts again. A test run boots again
// only while it gets somewhere: after two boots in a row that went down
// before any test ended, it stops.
func bootOuter(ctx context.Context, o Options, k Kernel, image string, disks []Drive) (Outcome, error) {
	out := Outcome{ConsoleLog: filepath.Join(o.Work, "console.log")}
	logFile, err := os.Create(out.ConsoleLog)
	if err != nil {
		return out, err
	}
	defer logFile.Close()
	appendArgs := "console=ttyS0 rdinit=/init panic=-1 quiet"
	if !o.Bench {
		// The tests run with transparent huge pages on request only
		// (madvise): default VMs on 4 KiB nested pages, the 2 MiB path in
		// its own test (--thp on); the bench keeps the outer kernel's
		// default ("always") and reports THP with its results.
		appendArgs += " transparent_hugepage=madvise"
	}
	q := QEMU{Binary: o.QEMU, Kernel: k.BzImage, Initrd: image, Memory: o.QEMUMemory, SMP: o.SMP, Timeout: o.Timeout, Idle: o.Idle,
		MaxLockup: o.MaxLockup, Append: appendArgs, Disks: disks}
	total := o.TotalTimeout
	if total <= 0 {
		total = o.Timeout * time.Duration(o.Retries+1)
	}
	deadline := time.Now().Add(total)
	var earlier []labproto.Event // events of the failed boots a test run goes on from
	idle := 0                    // boots in a row that went down before any test ended
	for attempt := 1; ; attempt++ {
		q.Timeout = min(o.Timeout, time.Until(deadline))
		q.Events = filepath.Join(o.Work, fmt.Sprintf("events-%d.jsonl", attempt))
		os.Remove(q.Events) // an earlier run's
		out.Boot, err = q.Boot(ctx, io.MultiWriter(o.Log, logFile))
		if err != nil {
			return out, err
		}
		if testsEnded(out.Boot.Events) == 0 {
			idle++
		} else {
			idle = 0
		}
		if !o.Bench {
			earlier = append(earlier, out.Boot.Events...)
			out.Boot.Events = earlier
		}
		failure := out.Boot.OuterFailure()
		left := time.Until(deadline)
		switch {
		case failure == "":
			return out, nil
		case attempt > o.Retries:
			return out, nil
		case left < minBoot:
			fmt.Fprintf(o.Log, "lab: attempt %d: %s; not booting again: %v of the lab's %v is left\n", attempt, failure, left.Round(time.Second), total)
			return out, nil
		case !o.Bench && idle >= 2:
			fmt.Fprintf(o.Log, "lab: attempt %d: %s; not booting again: two boots in a row went down before any test ended\n", attempt, failure)
			return out, nil
		}
		next := "starting again"
		if !o.Bench {
			if q.Append, err = resumeCmdline(appendArgs, earlier); err != nil {
				return out, err
			}
			next = "going on from where it stopped"
		}
		out.Discarded = append(out.Discarded, failure)
		fmt.Fprintf(o.Log, "lab: attempt %d: %s; booting the outer guest again, %s (--retries %d)\n", attempt, failure, next, o.Retries)
	}
}

// assetFiles are the files of the outer guest's assets disk: the
// application images' docker save tarballs under images/.
func assetFiles(imgs debian.Set) map[string]string {
	files := map[string]string{}
	for _, host := range imgs.Files {
		files["images/"+filepath.Base(host)] = host
	}
	return files
}
