package main

import (
	"errors"
	"fmt"
	"io"
	"time"

	flag "github.com/spf13/pflag"

	"github.com/vmmlab/vmm/machine"
)

type restoreOptions struct {
	runOptions
	device string
	disks  []string
	nics   []string
}

// runRestore is `vmm restore DIR`: the VM a snapshot holds goes on from
// where it was paused.
func runRestore(args []string, stdout, stderr io.Writer) int {
	start := time.Now()
	var o restoreOptions
	fs := flag.NewFlagSet("vmm restore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.device, "kvm-device", "/dev/kvm", "KVM device node")
	fs.StringArrayVar(&o.disks, "disk", nil, "PATH[,ro] for each disk the guest had, in order, of the same size and read-only flag (a snapshot never chooses the host files it gets)")
	fs.StringArrayVar(&o.nics, "net", nil, "a network interface for each the guest had, in order: tap=NAME or fd=N (the guest keeps its MAC; a mac= given here is ignored)")
	addRunFlags(fs, &o.runOptions)
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: vmm restore DIR [--disk PATH[,ro] ...] [--net tap=NAME ...] [--api-sock PATH] [--json]")
		return 2
	}
	if err := o.runOptions.check(); err != nil {
		fmt.Fprintln(stderr, "vmm restore:", err)
		return 2
	}
	disks, err := parseDisks(o.disks)
	if err != nil {
		fmt.Fprintln(stderr, "vmm restore:", err)
		return 2
	}
	nics, err := parseNICs(o.nics)
	if err != nil {
		fmt.Fprintln(stderr, "vmm restore:", err)
		return 2
	}
	sess := newSession(stdout)
	defer sess.close()
	tr, err := sess.openFiles(o.runOptions, start)
	if err != nil {
		fmt.Fprintln(stderr, "vmm restore:", err)
		return 2
	}
	m, err := machine.Restore(fs.Arg(0), machine.RestoreConfig{Device: o.device, Disks: disks, NICs: nics, Console: sess.console, Start: start, Revision: revision(), Tracer: tr})
	if err != nil {
		fmt.Fprintln(stderr, "vmm restore:", err)
		if errors.Is(err, machine.ErrRestoreMismatch) {
			return 2 // the command line does not fit the snapshot
		}
		return 1
	}
	defer m.Close()
	return sess.run(m, o.runOptions, nil, time.Since(start), stderr)
}
