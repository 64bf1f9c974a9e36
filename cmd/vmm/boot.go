package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	flag "github.com/spf13/pflag"

	"github.com/vmmlab/vmm/guestinit"
	"github.com/vmmlab/vmm/internal/cli"
	"github.com/vmmlab/vmm/internal/size"
	"github.com/vmmlab/vmm/machine"
	"github.com/vmmlab/vmm/memory"
	"github.com/vmmlab/vmm/runresult"
)

// DefaultCmdline is the kernel command line when --cmdline is not given.
const DefaultCmdline = "console=ttyS0 reboot=k"

type bootOptions struct {
	runOptions
	kernel, initrd, mem, cmdline, device string
	unpackKernel                         string
	thp, rng, balloon, vsock, transport  string
	cpus                                 int
	explain, ksm                         bool
	disks, nics, pmem                    []string
}

func runBoot(args []string, stdout, stderr io.Writer) int {
	start := time.Now()
	var o bootOptions
	fs := flag.NewFlagSet("vmm boot", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.kernel, "kernel", "", "Linux bzImage to boot (required)")
	fs.StringVar(&o.unpackKernel, "unpack-kernel", "", "boot a bzImage's kernel without its decompressor: unpack it on the host once, keep it in this directory (e.g. ~/.cache/vmm/unpacked), and enter it at its PVH entry point (no KASLR); a kernel that cannot boot so boots as it is")
	fs.StringVar(&o.initrd, "initrd", "", "initramfs (cpio, optionally compressed); default: the image `make` builds; none: no initramfs")
	fs.StringVar(&o.mem, "mem", "512M", "guest memory: 512M, 1G, 1.5G or a byte count")
	fs.IntVar(&o.cpus, "cpus", 1, fmt.Sprintf("number of vCPUs (1-%d)", machine.MaxCPUs))
	fs.StringVar(&o.cmdline, "cmdline", DefaultCmdline, "kernel command line")
	fs.StringVar(&o.device, "kvm-device", "/dev/kvm", "KVM device node")
	fs.StringArrayVar(&o.disks, "disk", nil, "attach PATH[,ro] (a file or block device) as a virtio-blk disk; repeatable: /dev/vda, /dev/vdb, ...")
	fs.StringArrayVar(&o.pmem, "pmem", nil, "map PATH[,ro] (a regular file, a multiple of 2 MiB) into guest memory as a virtio-pmem device, /dev/pmem0, ...: the guest mounts it with DAX (root=/dev/pmem0 rootflags=dax) and reads the host's page cache, one copy for all VMs; vmm locks the file, shared for ro, exclusive for a writable one; repeatable")
	fs.StringVar(&o.thp, "thp", "auto", "transparent huge pages for guest RAM: auto (the host's policy), on, or off (only the 4 KiB pages the guest touches)")
	fs.BoolVar(&o.ksm, "ksm", false, "offer guest RAM to the host's same-page merging (KSM, madvise MADV_MERGEABLE): identical pages of VMs share host memory while the host runs ksmd (/sys/kernel/mm/ksm/run); implies --thp off unless --thp on is given")
	fs.StringVar(&o.transport, "virtio", "pci", "transport of the virtio devices: pci, or mmio for kernels without PCI (announced on the command line)")
	fs.StringVar(&o.rng, "rng", "on", "virtio-rng entropy device from the host's getrandom(2): on (at most 1 MiB/s), rate=BYTES (per second, e.g. 64K; 0: no limit), or off")
	fs.StringVar(&o.vsock, "vsock", "", "virtio-vsock: cid=N,uds=PATH: guest AF_VSOCK sockets reach host programs through the unix socket PATH (a host program connects and writes \"CONNECT port\\n\"; a guest connecting to CID 2 port P reaches the listener at PATH_P)")
	addRunFlags(fs, &o.runOptions)
	fs.BoolVar(&o.explain, "explain", false, "before the guest runs, say what vmm set up, one fact a line: memory and its map, where the kernel, initramfs, command line and zero page went, page tables and GDT, CPUID, entry registers, every device with its ports, addresses and interrupt")
	fs.StringVar(&o.balloon, "balloon", "off", "virtio-balloon: on (the guest hands back memory it frees: free page reporting), target=SIZE (also ask it for SIZE of its memory), or off")
	fs.StringArrayVar(&o.nics, "net", nil, "attach a virtio-net interface: tap=NAME[,mac=MAC] (created if missing, given CAP_NET_ADMIN) or fd=N[,mac=MAC] (an open TAP with IFF_VNET_HDR); repeatable")
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "vmm boot: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if err := o.runOptions.check(); err != nil {
		fmt.Fprintln(stderr, "vmm boot:", err)
		return 2
	}
	o.unixSockets = o.vsock != ""
	// Piped input: vmm-init's shell reads it line by line, and vmm holds
	// it back until the guest has booted (vmm-init writes the boot timer
	// once the console is set up). A command line that names its own init
	// gets the input as it comes.
	var booted chan struct{}
	if pipedInput(os.Stdin) && !strings.Contains(o.cmdline, "vmm.input=") {
		o.cmdline += " " + guestinit.LineInput
		if !strings.Contains(o.cmdline, "init=") {
			booted = make(chan struct{})
		}
	}
	sess := newSession(stdout)
	defer sess.close()
	cfg, kernel, err := o.machineConfig(sess.console, start, booted, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "vmm boot:", err)
		return 2
	}
	if kernel.fact != "" {
		fmt.Fprintln(stderr, "vmm:", kernel.fact)
	}
	cfg.Revision = revision()
	if cfg.Tracer, err = sess.openFiles(o.runOptions, start); err != nil {
		kernel.release()
		fmt.Fprintln(stderr, "vmm boot:", err)
		return 2
	}
	cfg.OnBooted = sess.whenBooted(cfg.OnBooted)
	// the snapshot holds the guest at its ready write, not the workload
	// it starts a moment later (which may print before a late pause)
	cfg.PauseWhenBooted = o.snapshotOnReady != ""
	sess.trimAfter = sess.ready
	inputs := time.Since(start)
	m, err := machine.New(cfg)
	kernel.release() // in guest memory now (or never to be)
	if err != nil {
		if f, ok := cfg.InitrdFile.(io.Closer); ok {
			f.Close()
		}
		fmt.Fprintln(stderr, "vmm boot:", err)
		return 1
	}
	defer m.Close()
	if o.explain {
		for _, fact := range m.Explain() {
			fmt.Fprintln(stderr, "vmm: explain:", fact)
		}
	}
	// The kernel and initramfs now live in guest memory: drop vmm's own
	// copies and give their pages back to the host at once, instead of
	// keeping them in the heap for the VM's whole life.
	if f, ok := cfg.InitrdFile.(io.Closer); ok {
		f.Close()
	}
	cfg.Kernel, cfg.Initrd, cfg.InitrdFile = nil, nil, nil
	return sess.run(m, o.runOptions, booted, inputs, stderr)
}

// pipedInput reports whether stdin is a pipe or a file (commands typed
// ahead, all at once), not a terminal or /dev/null.
func pipedInput(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && (st.Mode()&os.ModeNamedPipe != 0 || st.Mode().IsRegular())
}

// consoleBuffer is how much guest console output may wait for a slow
// stdout before bytes are dropped (and counted).
const consoleBuffer = 256 << 10

// vmGCPercent is the Go GC target while the VM runs (GOGC; Go's default
// is 100, whose minimum heap goal is 4 MiB; 25 makes it 1 MiB).
const vmGCPercent = 25

// machineConfig checks the flags and reads the inputs; the kernel comes
// back beside the config, to be released once the machine is built.
func (o bootOptions) machineConfig(console io.Writer, start time.Time, booted chan struct{}, stderr io.Writer) (cfg machine.Config, kernel kernelInput, err error) {
	if o.kernel == "" {
		return machine.Config{}, kernelInput{}, errors.New("--kernel is required (a Linux bzImage)")
	}
	mem, err := size.Parse(o.mem)
	if err != nil {
		return machine.Config{}, kernelInput{}, fmt.Errorf("--mem: %w", err)
	}
	if kernel, err = o.loadKernel(stderr); err != nil {
		return machine.Config{}, kernelInput{}, err
	}
	defer func() {
		if err != nil {
			kernel.release()
		}
	}()
	cfg, err = o.config(kernel.data, mem, console, start, booted)
	return cfg, kernel, err
}

func (o bootOptions) config(kernel []byte, mem uint64, console io.Writer, start time.Time, booted chan struct{}) (machine.Config, error) {
	disks, err := parseDisks(o.disks)
	if err != nil {
		return machine.Config{}, err
	}
	nics, err := parseNICs(o.nics)
	if err != nil {
		return machine.Config{}, err
	}
	rng, err := parseRNG(o.rng)
	if err != nil {
		return machine.Config{}, err
	}
	bal, err := parseBalloon(o.balloon)
	if err != nil {
		return machine.Config{}, err
	}
	vs, err := parseVsock(o.vsock)
	if err != nil {
		return machine.Config{}, err
	}
	pmem, err := parsePmem(o.pmem)
	if err != nil {
		return machine.Config{}, err
	}
	if len(pmem) > 0 && o.snapshotOnReady != "" {
		return machine.Config{}, errors.New("--snapshot-on-ready: a VM with --pmem cannot be snapshotted yet")
	}
	huge, err := o.hugePages()
	if err != nil {
		return machine.Config{}, err
	}
	if o.transport != "pci" && o.transport != "mmio" {
		return machine.Config{}, fmt.Errorf("--virtio %q: want pci or mmio", o.transport)
	}
	var initrd *os.File
	var initrdSize int64
	if o.initrd == "" {
		if o.initrd, err = cli.DefaultInitramfs(); err != nil {
			return machine.Config{}, err
		}
	}
	if o.initrd != "none" {
		if initrd, initrdSize, err = openInput("initrd", o.initrd); err != nil {
			return machine.Config{}, err
		}
	}
	cfg := machine.Config{Device: o.device, Kernel: kernel, Cmdline: o.cmdline,
		MemSize: mem, CPUs: o.cpus, Console: console, Start: start, Disks: disks, NICs: nics,
		VirtioMMIO: o.transport == "mmio", HugePages: huge, Mergeable: o.ksm, RNG: rng, Balloon: bal, Vsock: vs, Pmem: pmem,
		// The guest has booted: give the host back at once what vmm's heap
		// grew by during the boot (disk reads, device set-up), instead of
		// over minutes through Go's background scavenger.
		OnBooted: func(time.Duration) {
			go debug.FreeOSMemory()
			if booted != nil {
				close(booted) // the boot timer calls this once
			}
		}}
	if initrd != nil {
		// read straight into guest memory by machine.New (no heap copy)
		cfg.InitrdFile, cfg.InitrdSize = initrd, initrdSize
	}
	return cfg, nil
}

// openInput opens a regular file of at most 2 GiB and returns its size.
func openInput(what, path string) (*os.File, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", what, err)
	}
	st, err := f.Stat()
	switch {
	case err != nil:
		err = fmt.Errorf("%s: %w", what, err)
	case !st.Mode().IsRegular():
		err = fmt.Errorf("%s: %s is not a regular file", what, path)
	case st.Size() > 1<<31:
		err = fmt.Errorf("%s: %s is %d MiB; the limit is 2048 MiB", what, path, st.Size()>>20)
	}
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, st.Size(), nil
}

func readInput(what, path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %s is not a regular file", what, path)
	}
	if st.Size() > 1<<31 {
		return nil, fmt.Errorf("%s: %s is %d MiB; the limit is 2048 MiB", what, path, st.Size()>>20)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return b, nil
}

// readGoMemory is the Go runtime's account of vmm's own memory now.
func readGoMemory() runresult.GoMemory {
	var st runtime.MemStats
	runtime.ReadMemStats(&st)
	return runresult.GoMemory{HeapInUse: st.HeapInuse >> 10, HeapRetained: (st.HeapIdle - st.HeapReleased) >> 10, Stacks: st.StackSys >> 10,
		Runtime: (st.MSpanSys + st.MCacheSys + st.BuckHashSys + st.GCSys + st.OtherSys) >> 10, Sys: st.Sys >> 10}
}

// exitCode is vmm's exit status: the workload's status when the guest
// powered off after reporting one, 0 for any other clean end.
func exitCode(r machine.Result) int {
	switch {
	case r.Kind == machine.PowerOff && r.HasGuestStatus:
		return r.GuestStatus
	case r.Kind.Clean():
		return 0
	case r.Kind == machine.Interrupted:
		return 130
	}
	return 1
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// resultOf is how the run ended, as --json prints it.
//
// hostProblem is why this host's KVM may not run the guest ("" if none
// is known); it is said only when the guest never booted.
func resultOf(r machine.Result, inputs time.Duration, dropped uint64, trace *runresult.Trace, hostProblem string) runresult.Result {
	code := exitCode(r)
	if code == 0 || r.Booted || r.Restored {
		hostProblem = ""
	}
	j := runresult.Result{Reason: r.Kind.String(), Cause: r.Cause, VCPUs: r.VCPUs, Detail: r.Detail, ExitCode: code, SetupMS: ms(r.SetupTime),
		StartNS: r.Start.UnixNano(), FirstRun: ms(r.FirstRun), InputsMS: ms(inputs), Steps: map[string]float64{}, Exits: r.Exits,
		RunMS: ms(r.RunTime), Booted: r.Booted, Restored: r.Restored, Unhandled: r.UnhandledPIO, Registers: r.Dump, Dropped: dropped, Failures: r.DeviceFailures, Devices: r.DeviceCounters,
		GoMemory: readGoMemory(), HostProblem: hostProblem, Trace: trace}
	if r.Booted {
		j.BootMS = ms(r.BootTime)
	}
	for _, st := range r.SetupSteps {
		j.Steps[st.Name] = ms(st.At)
	}
	if r.HasGuestStatus {
		j.Status = &r.GuestStatus
	}
	j.RunFaults = r.RunFaults
	if w := r.WorkingSet; w != nil {
		j.WorkingSet = &runresult.WorkingSet{Mode: w.Mode, Ranges: w.Ranges, Pages: w.Pages, PrefetchMS: ms(w.Prefetch), Recorded: w.Recorded, Problem: w.Problem}
	}
	return j
}

// writeJSON writes v as one line.
func writeJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// report prints how the run ended (j, resultOf r) and returns vmm's exit
// code.
func report(r machine.Result, j runresult.Result, asJSON bool, w io.Writer) int {
	if asJSON {
		writeJSON(w, j)
		return j.ExitCode
	}
	boot := "guest did not report booting"
	switch {
	case r.Restored:
		boot = "restored from a snapshot"
	case r.Booted:
		boot = "booted in " + r.BootTime.Round(time.Millisecond).String()
	}
	if r.HasGuestStatus {
		boot += fmt.Sprintf(", workload exit status %d", r.GuestStatus)
	}
	if j.Dropped > 0 {
		boot += fmt.Sprintf(", %d bytes of console output dropped: stdout did not keep up", j.Dropped)
	}
	for _, f := range r.DeviceFailures {
		boot += ", device failed: " + f
	}
	if j.HostProblem != "" {
		boot += "; " + j.HostProblem
	}
	fmt.Fprintf(w, "\nvmm: %s: %s (%s, ran %v)\n", r.Kind, r.Detail, boot, r.RunTime.Round(time.Millisecond))
	if r.Dump != "" {
		fmt.Fprintln(w, r.Dump)
	}
	return j.ExitCode
}

// hugePages is --thp as a policy. KSM merges only 4 KiB pages (it splits
// a huge page to merge it), so --ksm turns the host's default off.
func (o bootOptions) hugePages() (memory.HugePages, error) {
	huge, ok := map[string]memory.HugePages{"auto": memory.HugePagesDefault, "on": memory.HugePagesOn, "off": memory.HugePagesOff}[o.thp]
	if !ok {
		return 0, fmt.Errorf("--thp %q: want auto, on or off", o.thp)
	}
	if o.ksm && huge == memory.HugePagesDefault {
		huge = memory.HugePagesOff
	}
	return huge, nil
}
