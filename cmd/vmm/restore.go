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
	device     string
	disks      []string
	nics       []string
	workingSet string
}

// workingSetModes are --working-set's values.
var workingSetModes = map[string]machine.WorkingSetMode{"auto": machine.WorkingSetAuto, "on": machine.WorkingSetOn,
	"off": machine.WorkingSetOff, "record": machine.WorkingSetRecord}

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
	fs.StringVar(&o.workingSet, "working-set", "auto", "the guest pages an earlier restore touched (DIR/working-set): on reads them in one pass before the guest runs, off faults each in on first touch, auto is on when the file exists; record notes the pages this guest touches and writes them into DIR when told (PUT /vm/working-set) or at the end, unless another restore wrote them first")
	addRunFlags(fs, &o.runOptions)
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	mode, ok := workingSetModes[o.workingSet]
	if !ok {
		fmt.Fprintf(stderr, "vmm restore: --working-set %q: want auto, on, off or record\n", o.workingSet)
		return 2
	}
	o.writesFiles = mode == machine.WorkingSetRecord
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
	m, err := machine.Restore(fs.Arg(0), machine.RestoreConfig{Device: o.device, Disks: disks, NICs: nics, Console: sess.console, Start: start, Revision: revision(), Tracer: tr, WorkingSet: mode})
	if err != nil {
		fmt.Fprintln(stderr, "vmm restore:", err)
		if errors.Is(err, machine.ErrRestoreMismatch) {
			return 2 // the command line does not fit the snapshot
		}
		return 1
	}
	defer m.Close()
	if w := m.WorkingSet(); w != nil && w.Problem != "" {
		fmt.Fprintln(stderr, "vmm: warning:", w.Problem)
	}
	return sess.run(m, o.runOptions, nil, time.Since(start), stderr)
}
