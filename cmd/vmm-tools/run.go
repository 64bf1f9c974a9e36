package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	flag "github.com/spf13/pflag"

	"github.com/vmmlab/vmm/image/process"
	"github.com/vmmlab/vmm/internal/cli"
	"github.com/vmmlab/vmm/privnet"
	"github.com/vmmlab/vmm/vmrun"
)

const runUsage = "usage: vmm run [flags] IMAGE [ARG...]"

// runOptions are vmm run's flags.
type runOptions struct {
	image                       imageOptions
	kernel, initrd, virtio, mem string
	name, scratch, scratchDisk  string
	cpus, stopTimeout           int
	interactive, terminal       bool
	verbose, json, net          bool
}

// runReport is what vmm run --json prints on stderr when the run ends.
type runReport struct {
	Image      string `json:"image"`
	Digest     string `json:"digest"`
	Ext4       string `json:"image_ext4"`
	Ext4Cached bool   `json:"image_ext4_cached"`
	Kernel     string `json:"kernel"`
	Hostname   string `json:"hostname"`
	Address    string `json:"address,omitempty"` // on vmmbr0, with --net
	vmrun.Result
}

func runRun(args []string, stdout, stderr io.Writer) int {
	var o runOptions
	fs := flag.NewFlagSet("vmm run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.kernel, "kernel", "", "guest kernel (default: the minimal kernel of make microkernel, else the Debian kernel make fetched)")
	fs.StringVar(&o.initrd, "initrd", "", "initramfs with vmm-init and the kernel's modules (default: the one make builds for the Debian kernel; none for a kernel with its drivers built in)")
	fs.StringVar(&o.virtio, "virtio", "", "virtio transport: pci or mmio (default: mmio for the minimal kernel, else pci)")
	fs.StringVar(&o.mem, "mem", "256M", "guest memory")
	fs.IntVar(&o.cpus, "cpus", 1, "vCPUs")
	fs.StringVar(&o.name, "name", "", "the VM's host name (default: 12 random hex digits)")
	fs.StringVar(&o.scratch, "scratch", "64M", "size of the tmpfs that holds what the process writes to its root")
	fs.StringVar(&o.scratchDisk, "scratch-disk", "", "hold what the process writes on a sparse ext4 disk of this size instead (removed after the run)")
	fs.StringArrayVarP(&o.image.env, "env", "e", nil, "set KEY=VALUE in the process's environment; repeatable")
	fs.StringVarP(&o.image.user, "user", "u", "", "run as uid[:gid] or name[:group] of the image's /etc/passwd and /etc/group")
	fs.StringVarP(&o.image.workdir, "workdir", "w", "", "the process's working directory")
	fs.StringVar(&o.image.entrypoint, "entrypoint", "", "run this instead of the image's entrypoint (and without its command)")
	fs.BoolVarP(&o.interactive, "interactive", "i", false, "connect stdin to the process (else it reads /dev/null)")
	fs.BoolVarP(&o.terminal, "tty", "t", false, "give the process a terminal (its stdout and stderr become one stream, as with docker run -t); with -i the user's terminal goes into raw mode")
	fs.IntVar(&o.stopTimeout, "stop-timeout", 10, "seconds the process has after SIGINT or SIGTERM before the VM is powered off")
	fs.BoolVar(&o.net, "net", false, "plug the VM into the host bridge vmmbr0 (10.0.4.1/24, no NAT; made on first use and kept) and print its address on stderr")
	fs.BoolVar(&o.verbose, "verbose", false, "show vmm's and the guest's own lines on stderr")
	fs.BoolVar(&o.json, "json", false, "when the run ends, print what it used and how it ended as one JSON object on stderr")
	fs.SetInterspersed(false) // flags after IMAGE are the process's
	if code, ok := cli.ParseFlags(fs, args, stderr); !ok {
		if code == 0 { // --help
			return 0
		}
		return vmrun.ExitOwnFailure
	}
	o.image.setEntrypoint = fs.Changed("entrypoint")
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, runUsage)
		return vmrun.ExitOwnFailure
	}
	ref, rest := imageArgs(fs.Args())
	rep, err := o.run(context.Background(), ref, rest, stdout, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "vmm run:", err)
		return exitCode(err)
	}
	if rep.Problem != "" {
		fmt.Fprintln(stderr, "vmm run:", rep.Problem)
	}
	if o.json {
		b, _ := json.Marshal(rep)
		fmt.Fprintf(stderr, "\n%s\n", b)
	}
	return rep.ExitCode
}

// run prepares the image's disk and process and runs it in a VM.
func (o runOptions) run(ctx context.Context, ref string, args []string, stdout, stderr io.Writer) (runReport, error) {
	cfg, err := o.vmConfig()
	if err != nil {
		return runReport{}, err
	}
	st, err := openImageStore()
	if err != nil {
		return runReport{}, err
	}
	rec, err := st.Resolve(ctx, ref, stderr)
	if err != nil {
		return runReport{}, err
	}
	pc, files, err := st.Process(rec)
	if err != nil {
		return runReport{}, err
	}
	cfg.Process, err = process.Process(pc, process.Overrides{Args: args, Entrypoint: o.image.entrypoint, SetEntrypoint: o.image.setEntrypoint,
		Env: o.image.env, User: o.image.user, WorkingDir: o.image.workdir, Terminal: o.terminal}, files)
	if err != nil {
		return runReport{}, err
	}
	rep := runReport{Image: ref, Digest: rec.Digest, Kernel: cfg.Kernel, Hostname: cfg.Hostname}
	if cfg.Disk, rep.Ext4Cached, err = st.Ext4(ctx, rec); err != nil {
		return runReport{}, err
	}
	rep.Ext4 = cfg.Disk
	if o.scratchDisk != "" {
		remove, err := makeScratchDisk(ctx, &cfg, o.scratchDisk)
		if err != nil {
			return runReport{}, err
		}
		defer remove()
	}
	if o.net {
		n, leave, err := joinHostBridge()
		if err != nil {
			return runReport{}, err
		}
		defer leave()
		cfg.Net, rep.Address = n, n.Addr.Addr().String()
		fmt.Fprintf(stderr, "vmm run: %s is at %s on %s\n", cfg.Hostname, rep.Address, privnet.BridgeName)
	}
	rep.Result, err = vmrun.Run(ctx, cfg, vmrun.IO{Stdin: os.Stdin, Stdout: stdout, Stderr: stderr})
	return rep, err
}

// vmConfig is the VM the flags ask for, without the image.
func (o runOptions) vmConfig() (vmrun.Config, error) {
	k, err := chooseKernel(o.kernel, o.initrd, o.virtio)
	if err != nil {
		return vmrun.Config{}, err
	}
	name := o.name
	if name == "" {
		b := make([]byte, 6)
		rand.Read(b)
		name = hex.EncodeToString(b)
	}
	if o.stopTimeout < 0 {
		return vmrun.Config{}, fmt.Errorf("--stop-timeout %d: want seconds, 0 or more", o.stopTimeout)
	}
	return vmrun.Config{VMM: cli.BesideExecutable("vmm"), VMMInit: cli.BesideExecutable("vmm-init"), Kernel: k.kernel, Initrd: k.initrd,
		Virtio: k.virtio, Mem: o.mem, CPUs: o.cpus, Hostname: name, Scratch: o.scratch, Interactive: o.interactive,
		StopTimeout: time.Duration(o.stopTimeout) * time.Second, Verbose: o.verbose}, nil
}
