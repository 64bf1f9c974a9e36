package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	flag "github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"github.com/vmmlab/vmm/cgroup"
	"github.com/vmmlab/vmm/container"
	"github.com/vmmlab/vmm/internal/cli"
	"github.com/vmmlab/vmm/internal/size"
)

type containerOptions struct {
	runtime, mem, marker string
	cpus                 float64
	pids                 int64
	bins                 []string
	json, net, explain   bool
	hostNet              bool // --net plugs into the host bridge (an IMAGE run)
	relay                <-chan os.Signal
	image                imageOptions
	stderr               io.Writer // where --explain writes
}

const containerUsage = "usage: vmm container run [flags] IMAGE [ARG...] | vmm container run [flags] -- CMD [ARG...]"

func runContainer(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "run" {
		fmt.Fprintln(stderr, containerUsage)
		return 2
	}
	var o containerOptions
	fs := flag.NewFlagSet("vmm container run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.runtime, "runtime", "crun", "OCI runtime: "+strings.Join(container.Runtimes(), ", "))
	fs.StringVar(&o.mem, "mem", "64M", "memory limit (cgroup): 64M, 1G or a byte count; 0 for none")
	fs.Float64Var(&o.cpus, "cpus", 0, "CPU bandwidth in CPUs (0.5 = half a CPU); 0 for no limit")
	fs.Int64Var(&o.pids, "pids", 256, "limit on tasks in the container; 0 for none")
	fs.StringArrayVar(&o.bins, "bin", nil, "statically linked program to put into the rootfs's /bin; repeatable (CMD given as a path is added too)")
	fs.StringVar(&o.marker, "marker", "", "report the time from launch to the first output line containing this")
	fs.BoolVar(&o.net, "net", false, "plug the container into a bridge: with IMAGE the host bridge vmmbr0 (10.0.4.1/24, where vmm run --net puts VMs), else one in a private network namespace (gateway 10.0.3.1); its address is reported")
	fs.BoolVar(&o.json, "json", false, "print the result as one JSON object on stderr instead of a line of text")
	fs.BoolVar(&o.explain, "explain", false, "between the runtime's create and start, say how the container is set up: each namespace, the cgroup and the limits the kernel enforces, the mounts, capabilities, seccomp and user, read from the kernel")
	fs.StringArrayVarP(&o.image.env, "env", "e", nil, "with IMAGE: set KEY=VALUE in the process's environment; repeatable")
	fs.StringVarP(&o.image.user, "user", "u", "", "with IMAGE: run as uid[:gid] or name[:group] of the image's /etc/passwd and /etc/group")
	fs.StringVarP(&o.image.workdir, "workdir", "w", "", "with IMAGE: the process's working directory")
	fs.StringVar(&o.image.entrypoint, "entrypoint", "", "with IMAGE: run this instead of the image's entrypoint (and without its command)")
	fs.BoolVar(&o.image.readOnly, "read-only", false, "with IMAGE: mount the image's layers with no writable layer above them")
	fs.IntVar(&o.image.stopTimeout, "stop-timeout", 10, "with IMAGE: seconds the process has after SIGINT or SIGTERM (relayed to it) before it is killed")
	fs.SetInterspersed(false) // flags after IMAGE are the process's
	if code, ok := cli.ParseFlags(fs, args[1:], stderr); !ok {
		return code
	}
	o.image.setEntrypoint = fs.Changed("entrypoint")
	o.stderr = stderr
	imageRun := fs.NArg() > 0 && fs.ArgsLenAtDash() != 0
	if o.net && o.runtime == "runsc" {
		// runsc's sandbox stays in the host's network namespace instead
		// of joining the container's, and then refuses a network
		fmt.Fprintln(stderr, "vmm container run: --net with runsc is not supported yet; use crun or runc")
		if imageRun {
			return exitOwnFailure
		}
		return 2
	}
	if imageRun {
		return o.runImageCommand(fs.Args(), stdout, stderr)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	for _, f := range []string{"env", "user", "workdir", "entrypoint", "read-only"} {
		if fs.Changed(f) {
			fmt.Fprintf(stderr, "vmm container run: --%s goes with an IMAGE (%s)\n", f, containerUsage)
			return 2
		}
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "vmm container run: no image and no command ("+containerUsage+")")
		return 2
	}
	cfg, programs, err := o.config(fs.Args())
	if err != nil {
		fmt.Fprintln(stderr, "vmm container run:", err)
		return 2
	}
	res, err := o.run(ctx, cfg, programs, stdout)
	if err != nil {
		fmt.Fprintln(stderr, "vmm container run:", err)
		if ctx.Err() != nil {
			return 130
		}
		return 1
	}
	return reportContainer(res, o.json, stderr)
}

// config turns flags and the command into a container configuration and
// the programs its rootfs holds.
func (o containerOptions) config(cmd []string) (container.Config, []string, error) {
	cfg, err := o.limits()
	if err != nil {
		return cfg, nil, err
	}
	programs := append([]string(nil), o.bins...)
	args := append([]string(nil), cmd...)
	if strings.Contains(args[0], "/") {
		programs = append(programs, args[0])
		args[0] = filepath.Base(args[0])
	}
	if len(programs) == 0 {
		if _, err := cli.DefaultInitramfs(); err != nil {
			return container.Config{}, nil, fmt.Errorf("%s: a bare command runs on the default image's userland, and %v; or give the command as a path to a static program (or add programs with --bin)", args[0], err)
		}
	}
	for i, p := range programs {
		abs, err := filepath.Abs(p)
		if err != nil {
			return container.Config{}, nil, err
		}
		if _, err := os.Stat(abs); err != nil {
			return container.Config{}, nil, fmt.Errorf("program: %w", err)
		}
		programs[i] = abs
	}

	cfg.Args = args
	return cfg, programs, nil
}

// limits is the container's ID, cgroup and limits from the flags.
func (o containerOptions) limits() (container.Config, error) {
	mem := uint64(0)
	if o.mem != "0" {
		var err error
		if mem, err = size.Parse(o.mem); err != nil {
			return container.Config{}, fmt.Errorf("--mem: %w", err)
		}
	}
	id := fmt.Sprintf("vmm-%d-%d", os.Getpid(), time.Now().UnixNano()%1_000_000)
	return container.Config{ID: id, Group: "/vmm/" + id, MemLimit: int64(mem), Pids: o.pids, CPUs: o.cpus}, nil
}

// run runs CMD on a root of static programs or the default image's
// userland.
func (o containerOptions) run(ctx context.Context, cfg container.Config, programs []string, stdout io.Writer) (container.Report, error) {
	return o.start(ctx, cfg, stdout, func() (string, func(), error) {
		root, err := containerRoot(programs)
		return root, func() {}, err
	})
}

// start runs the container cfg describes under the chosen runtime, on
// the root file system root gives (and then removes). The root is made
// before the runtime is found: on a cgroup v1 hybrid host the runtime
// runs in a private mount namespace, which sees only the mounts made
// before it.
func (o containerOptions) start(ctx context.Context, cfg container.Config, stdout io.Writer, root func() (string, func(), error)) (container.Report, error) {
	if err := container.CheckName(o.runtime); err != nil {
		return container.Report{}, err
	}
	mode, err := cgroup.DetectMode(cgroup.Root)
	if err != nil {
		return container.Report{}, err
	}
	rootfs, remove, err := root()
	if err != nil {
		return container.Report{}, err
	}
	defer remove()
	cfg.Rootfs = rootfs
	rt, err := container.Find(o.runtime, mode)
	if err != nil {
		return container.Report{}, err
	}
	defer rt.Close()
	state, err := container.StateDir("containers")
	if err != nil {
		return container.Report{}, err
	}
	opts := container.StartOptions{StateDir: state, Marker: o.marker, Echo: stdout, Relay: o.relay}
	if o.explain {
		opts.Explain = func(facts []string) {
			for _, f := range facts {
				fmt.Fprintln(o.stderr, "vmm: explain:", f)
			}
		}
	}
	if o.net {
		if opts.Network, err = o.network(); err != nil {
			return container.Report{}, err
		}
		defer opts.Network.Close()
		opts.Attached = func(addr netip.Prefix) {
			fmt.Fprintf(o.stderr, "vmm container run: %s is at %s\n", cfg.ID, addr.Addr())
		}
	}
	return rt.Measure(ctx, cfg, opts)
}

// containerRoot is the root file system: the given static programs in
// /bin, or without any, the userland of the default VM image (u-root's
// commands, as `vmm boot` gets them), so that `-- echo hi` works.
func containerRoot(programs []string) (string, error) {
	cache, err := cli.CacheDir()
	if err != nil {
		return "", err
	}
	if len(programs) > 0 {
		return container.Rootfs(cache, programs)
	}
	image, err := cli.DefaultInitramfs()
	if err != nil {
		return "", fmt.Errorf("a bare command runs on the default image's userland: %w", err)
	}
	return container.RootfsFromImage(image, cache)
}

func reportContainer(r container.Report, asJSON bool, stderr io.Writer) int {
	if asJSON {
		b, _ := json.Marshal(r)
		fmt.Fprintln(stderr, string(b))
	} else {
		marker := ""
		if r.MarkerMS > 0 {
			marker = fmt.Sprintf(", marker after %.1f ms", r.MarkerMS)
		}
		if r.Address != "" {
			marker += ", address " + r.Address
		}
		fmt.Fprintf(stderr, "vmm: %s (%s), cgroups %s: %s%s, memory %d KiB (peak %d KiB), host slab %+d KiB\n",
			r.Runtime, r.Version, r.Cgroups, r.Exit, marker, r.MemoryKiB, r.PeakKiB, r.KernelSlabKiB)
	}
	switch {
	case r.OOMKilled:
		return 137
	case r.Signal != "":
		if s := unix.SignalNum(r.Signal); s > 0 {
			return 128 + int(s)
		}
		return 1
	}
	return r.ExitCode
}
