// Command vmm-bench is `vmm bench`: it runs the same workload as a
// microVM, as a container and as a process and writes the report. It is a
// program of its own so that the vmm binary every VM runs stays small
// (the charts and report code would triple it); `vmm bench ARGS` execs
// it from beside vmm. This file parses flags and wires package bench.
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

	"github.com/schollz/progressbar/v3"
	flag "github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/vmmlab/vmm/bench"
	"github.com/vmmlab/vmm/bench/report"
	"github.com/vmmlab/vmm/bench/results"
	"github.com/vmmlab/vmm/bench/workload"
	"github.com/vmmlab/vmm/container"
	"github.com/vmmlab/vmm/internal/cachedir"
	"github.com/vmmlab/vmm/internal/cli"
	"github.com/vmmlab/vmm/internal/size"
)

func main() { os.Exit(runBench(os.Args[1:], os.Stdout, os.Stderr)) }

const benchUsage = `usage: vmm bench all|start|memory|density [flags]    measure, write DIR/results.json and the reports
       vmm bench report --from results.json --out DIR   write the reports of an earlier run again
       vmm bench compare A/results.json B/results.json  per metric: the change and whether it is beyond the noise`

type benchFlags struct {
	out, assets, workload, mem, budget, large string
	o                                         bench.Options
	targets, density                          []string
	oci                                       ociFlags
	apps                                      []ociFlags // --app
}

func runBench(args []string, stdout, stderr io.Writer) int {
	measure := func(which string) func([]string, io.Writer, io.Writer) int {
		return func(args []string, stdout, stderr io.Writer) int { return benchMeasure(which, args, stdout, stderr) }
	}
	return cli.Commands{Prog: "vmm bench", Usage: benchUsage, List: []cli.Command{
		{Name: "all", Run: measure("all")}, {Name: "start", Run: measure("start")}, {Name: "memory", Run: measure("memory")},
		{Name: "density", Run: measure("density")},
		{Name: "report", Run: func(args []string, _, stderr io.Writer) int { return benchReport(args, stderr) }},
		{Name: "compare", Run: benchCompare},
	}}.Dispatch(args, stdout, stderr)
}

func benchMeasure(which string, args []string, stdout, stderr io.Writer) int {
	var f benchFlags
	fs := flag.NewFlagSet("vmm bench "+which, flag.ContinueOnError)
	fs.SetOutput(stderr)
	exe, _ := os.Executable()
	vmm := filepath.Join(filepath.Dir(exe), "vmm") // installed beside vmm
	fs.StringVar(&f.out, "out", "", "directory to create for results.json and the reports (must not exist)")
	fs.StringVar(&f.assets, "assets", "build/lab/bench", "directory with bench.cpio.gz, root.ext4, stock.cpio.gz and workloads/ (make bench builds them here), and optionally bzImage-micro, bzImage and rootfs/")
	fs.StringVar(&f.o.Assets.VMM, "vmm", vmm, "the vmm binary the VM targets run")
	fs.StringVar(&f.o.Assets.MicroKernel, "kernel", "", "minimal guest kernel (default ASSETS/bzImage-micro)")
	fs.StringVar(&f.o.Assets.StockKernel, "stock-kernel", "", "Debian guest kernel (default ASSETS/bzImage)")
	fs.StringVar(&f.o.Assets.Image, "image", "", "bench image, the containers' root unpacked from it (default ASSETS/bench.cpio.gz)")
	fs.StringVar(&f.o.Assets.RootDisk, "root-disk", "", "the VMs' read-only root disk: the same tree as ext4 (default ASSETS/root.ext4)")
	fs.StringVar(&f.o.Assets.StockInitrd, "stock-initrd", "", "the Debian kernel's initramfs: vmm-init and its disk modules (default ASSETS/stock.cpio.gz)")
	fs.StringVar(&f.o.Assets.Unpacked, "unpack-kernel", "", "where vm-stock's vmm keeps the Debian kernel it unpacks on the host (vmm boot --unpack-kernel; default ASSETS/unpacked), or off: boot the bzImage through its own decompressor")
	fs.StringVar(&f.o.Assets.Rootfs, "rootfs", "", "container root (default ASSETS/rootfs)")
	fs.StringVar(&f.o.Assets.Workloads, "workloads", "", "directory of the static workloads (default ASSETS/workloads)")
	fs.StringSliceVar(&f.targets, "targets", []string{"all"}, "targets to run: vm, vm-nothp, vm-ksm, vm-lean, vm-pmem, vm-restore, vm-restore-lazy, vm-stock, crun, runc, runsc, docker, process, qemu, qemu-stock, or all")
	fs.StringVar(&f.workload, "workload", workload.Hello, "workload of the start benchmark: "+strings.Join(workload.Names(), ", "))
	fs.IntVar(&f.o.Runs, "runs", 20, "counted start runs per target")
	fs.IntVar(&f.o.Warmup, "warmup", 1, "discarded warm-up rounds before them")
	fs.StringVar(&f.mem, "mem", "256M", "memory of each instance: VM guest RAM, container memory limit")
	fs.IntVar(&f.o.CPUs, "cpus", 1, "vCPUs of a VM, CPUs of a container")
	fs.DurationVar(&f.o.Timeout, "timeout", 3*time.Minute, "limit for one instance to become ready")
	fs.DurationVar(&f.o.Settle, "settle", 5*time.Second, "idle time after ready before memory is sampled")
	fs.StringSliceVar(&f.density, "density-targets", []string{results.TargetVM, results.TargetVMLean, results.TargetVMRestore, results.TargetVMRestoreLazy, results.TargetCrun}, "targets of the density run")
	fs.IntVar(&f.o.DensityMax, "max", 20, "density: at most this many instances per target")
	fs.StringVar(&f.budget, "budget", "1G", "density: stop once host MemAvailable fell by this much")
	fs.StringVar(&f.large, "large-image", "256M", "size of the large shared image (footprint)")
	fs.IntVar(&f.o.LargeImageN, "large-image-n", 20, "containers started from the large image (0: skip)")
	fs.BoolVar(&f.o.Nested, "nested", os.Getenv("VMM_LAB") == "1", "say in the report that this runs in the nested lab")
	fs.StringVar(&f.oci.image, "oci-image", "", "start: run this OCI image (a name in vmm's image store, or an image file or directory) on every target that can, instead of --workload")
	fs.StringVar(&f.oci.cmd, "oci-cmd", "", "start, with --oci-image: the arguments that replace the image's Cmd (split at spaces)")
	fs.StringVar(&f.oci.ready, "ready", "", "start, with --oci-image: when the process is ready: log:TEXT (an output line containing TEXT), tcp:PORT (a connection succeeds) or http:PORT/PATH (a GET answers); default: the image's org.vmmlab.ready label")
	fs.IntVar(&f.o.AppRuns, "app-runs", 5, "all: counted start rounds of each --app image")
	fs.IntVar(&f.o.AppN, "app-n", 10, "all: idle instances of each --app image at once on each density target (0: skip)")
	fs.Func("app", "all: also measure this application image (a file, or a name in vmm's image store), ready as READY says or its org.vmmlab.ready label: IMAGE[=READY] (repeatable)", func(v string) error {
		app, err := parseApp(v)
		f.apps = append(f.apps, app)
		return err
	})
	fs.BoolVar(&f.o.NoPivot, "no-pivot", false, "runtimes enter the root without pivot_root (the host's / is an initramfs)")
	if code, ok := cli.ParseFlags(fs, args, stderr); !ok {
		return code
	}
	if err := f.check(fs); err != nil {
		fmt.Fprintf(stderr, "vmm bench %s: %v\n", which, err)
		return 2
	}
	if err := f.checkImages(which); err != nil {
		fmt.Fprintf(stderr, "vmm bench %s: %v\n", which, err)
		return 2
	}
	if err := os.MkdirAll(filepath.Dir(filepath.Clean(f.out)), 0o755); err != nil {
		fmt.Fprintf(stderr, "vmm bench %s: %v\n", which, err)
		return 1
	}
	if err := os.Mkdir(f.out, 0o755); err != nil {
		fmt.Fprintf(stderr, "vmm bench %s: --out: %v\n", which, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := f.prepareImages(ctx, stderr); err != nil {
		fmt.Fprintf(stderr, "vmm bench %s: %v\n", which, err)
		os.RemoveAll(f.out) // it holds only what this run wrote
		return 1
	}
	prog := newProgress(stderr, f.o.Nested)
	f.o.Progress = prog
	r, err := bench.Run(ctx, f.o, which)
	prog.finish()
	if err != nil {
		fmt.Fprintf(stderr, "vmm bench %s: %v\n", which, err)
		return 1
	}
	if err := report.WriteReports(f.out, r); err != nil {
		fmt.Fprintf(stderr, "vmm bench %s: %v\n", which, err)
		return 1
	}
	fmt.Fprintf(stdout, "vmm bench: wrote %s/results.json, report.md, report.html\n", f.out)
	if r.Interrupted {
		return 130
	}
	return 0
}

// check validates every flag before anything starts.
func (f *benchFlags) check(fs *flag.FlagSet) error {
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if f.out == "" {
		return fmt.Errorf("--out DIR is required")
	}
	if _, err := os.Stat(f.out); err == nil {
		return fmt.Errorf("--out %s exists already: give a new directory", f.out)
	}
	a := &f.o.Assets
	for _, d := range []struct {
		p    *string
		name string
	}{{&a.MicroKernel, "bzImage-micro"}, {&a.StockKernel, "bzImage"}, {&a.Image, "bench.cpio.gz"}, {&a.Rootfs, "rootfs"},
		{&a.RootDisk, "root.ext4"}, {&a.StockInitrd, "stock.cpio.gz"}, {&a.Workloads, "workloads"}, {&a.Unpacked, "unpacked"}} {
		if *d.p == "" {
			*d.p = filepath.Join(f.assets, d.name)
		}
	}
	if a.Unpacked == "off" {
		a.Unpacked = ""
	}
	if _, err := os.Stat(a.Rootfs); os.IsNotExist(err) && a.Image != "" {
		cache, err := cachedir.Dir()
		if err != nil {
			return err
		}
		if a.Rootfs, err = container.RootfsFromImage(a.Image, cache); err != nil {
			return err
		}
	}
	if q, err := exec.LookPath("qemu-system-x86_64"); err == nil {
		a.QEMU = q
	}
	if err := a.Check(bench.NeedsVMs(f.targets)); err != nil {
		return fmt.Errorf("%w (make bench builds them)", err)
	}
	if err := bench.CheckWorkload(f.workload); err != nil {
		return err
	}
	f.o.Workload = f.workload
	mem, err := size.Parse(f.mem)
	if err != nil || mem < 64<<20 {
		return fmt.Errorf("--mem %q: want a size of at least 64M", f.mem)
	}
	f.o.MemMiB = int(mem >> 20)
	if f.o.Runs < 1 || f.o.Warmup < 0 || f.o.CPUs < 1 {
		return fmt.Errorf("--runs must be at least 1, --warmup at least 0, --cpus at least 1")
	}
	if f.o.DensityMax < 1 {
		return fmt.Errorf("--max %d: want at least 1", f.o.DensityMax)
	}
	if f.o.AppRuns < 1 || f.o.AppN < 0 {
		return fmt.Errorf("--app-runs must be at least 1, --app-n at least 0")
	}
	budget, err := size.Parse(f.budget)
	if err != nil {
		return fmt.Errorf("--budget: %w", err)
	}
	if total := memTotal(); total > 0 && budget > total {
		return fmt.Errorf("--budget %s is more than this host's memory (%d MiB)", f.budget, total>>20)
	}
	f.o.Budget = int64(budget)
	large, err := size.Parse(f.large)
	if err != nil {
		return fmt.Errorf("--large-image: %w", err)
	}
	f.o.LargeImageMiB = int(large >> 20)
	targets := bench.Names(bench.AllTargets(bench.Options{}))
	for _, list := range [][]string{f.targets, f.density} {
		for _, t := range list {
			if t != "all" && !contains(targets, t) {
				return fmt.Errorf("unknown target %q: want %s or all", t, strings.Join(targets, ", "))
			}
		}
	}
	f.o.Targets, f.o.DensityTargets = f.targets, f.density
	state, err := container.StateDir("bench")
	if err != nil {
		return err
	}
	f.o.StateDir = state
	f.o.Flags = map[string]string{}
	fs.VisitAll(func(fl *flag.Flag) { f.o.Flags[fl.Name] = fl.Value.String() })
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// memTotal is the host's memory in bytes (0 when /proc/meminfo says nothing).
func memTotal() uint64 {
	h, err := bench.ReadHostMemory()
	if err != nil {
		return 0
	}
	return uint64(h.MemTotal)
}

func benchReport(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("vmm bench report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "", "results.json of an earlier run")
	out := fs.String("out", "", "directory for the reports (created if missing)")
	figs := fs.String("figures", "", "also write the figures the docs quote to this file (docs/figures.json; then go test ./docs -update-figures)")
	if code, ok := cli.ParseFlags(fs, args, stderr); !ok {
		return code
	}
	if *from == "" || *out == "" {
		fmt.Fprintln(stderr, "vmm bench report: --from and --out are required")
		return 2
	}
	r, err := results.ReadResults(*from)
	if err != nil {
		fmt.Fprintln(stderr, "vmm bench report:", err)
		return 2
	}
	if err = os.MkdirAll(*out, 0o755); err == nil {
		err = report.WriteReports(*out, r)
	}
	if err == nil && *figs != "" {
		err = report.Figures(r).Write(*figs)
	}
	if err != nil {
		fmt.Fprintln(stderr, "vmm bench report:", err)
		return 1
	}
	return 0
}

func benchCompare(args []string, stdout, stderr io.Writer) int {
	if len(args) != 2 {
		fmt.Fprintln(stderr, "usage: vmm bench compare A/results.json B/results.json")
		return 2
	}
	a, err := results.ReadResults(args[0])
	if err == nil {
		var b *results.Results
		if b, err = results.ReadResults(args[1]); err == nil {
			return writeCompare(stdout, a, b)
		}
	}
	fmt.Fprintln(stderr, "vmm bench compare:", err)
	return 2
}

func writeCompare(w io.Writer, a, b *results.Results) int {
	fmt.Fprint(w, report.FormatComparison(report.Compare(a, b)))
	return 0
}

// progress shows what runs now: a progress bar (with ETA) on a
// terminal, one line per step otherwise (pipes, the lab's console).
type progress struct {
	w     io.Writer
	lines bool
	phase string
	start time.Time // of the current count: the ETA's base
	bar   *progressbar.ProgressBar
	now   func() time.Time
}

func newProgress(w io.Writer, lines bool) *progress {
	if f, ok := w.(*os.File); !ok || !term.IsTerminal(int(f.Fd())) {
		lines = true
	}
	return &progress{w: w, lines: lines, now: time.Now}
}

// Step says that step i of n of phase runs on target. A count starts
// at 1: once a phase (start, memory: all targets counted together), or
// again for each target (density, which runs them one after another),
// and the ETA counts from there.
func (p *progress) Step(phase, target string, i, n int) {
	if phase != p.phase || i <= 1 {
		p.finish()
		p.phase, p.start = phase, p.now()
		if !p.lines {
			p.bar = progressbar.NewOptions(n, progressbar.OptionSetWriter(p.w), progressbar.OptionShowCount(),
				progressbar.OptionSetPredictTime(true), progressbar.OptionSetWidth(30))
		}
	}
	if p.bar != nil {
		p.bar.Describe(fmt.Sprintf("bench %s: %-10s", phase, target))
		p.bar.Set(i - 1)
		return
	}
	eta := ""
	if i > 1 {
		per := p.now().Sub(p.start) / time.Duration(i-1)
		eta = fmt.Sprintf(", ETA %v", (per * time.Duration(n-i+1)).Round(time.Second))
	}
	fmt.Fprintf(p.w, "bench %s: %s %d/%d%s\n", phase, target, i, n, eta)
}

// finish ends the current bar, if any.
func (p *progress) finish() {
	if p.bar != nil {
		p.bar.Finish()
		fmt.Fprintln(p.w)
		p.bar = nil
	}
}
