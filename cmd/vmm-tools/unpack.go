package main

import (
	"fmt"
	"io"
	"time"

	flag "github.com/spf13/pflag"

	"github.com/vmmlab/vmm/boot/unpack"
	"github.com/vmmlab/vmm/internal/cli"
	"github.com/vmmlab/vmm/kernelcache"
)

// runUnpackKernel is what `vmm boot --unpack-kernel DIR` runs when DIR
// does not hold the kernel yet: unpack the bzImage into DIR, or keep
// why it cannot boot unpacked.
func runUnpackKernel(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("vmm-tools unpack-kernel", flag.ContinueOnError)
	fs.SetOutput(stderr)
	into := fs.String("into", "", "directory of unpacked kernels (required)")
	if code, ok := cli.ParseFlags(fs, args, stderr); !ok {
		return code
	}
	if *into == "" || fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: vmm-tools unpack-kernel --into DIR BZIMAGE")
		return 2
	}
	t0 := time.Now()
	e, err := unpack.Into(kernelcache.Dir(*into), fs.Arg(0))
	switch {
	case err != nil:
		fmt.Fprintln(stderr, "vmm:", err)
		return 1
	case e.Refused != "":
		fmt.Fprintf(stdout, "vmm: %s cannot boot unpacked: %s\n", fs.Arg(0), e.Refused)
	default:
		fmt.Fprintf(stdout, "vmm: unpacked %s into %s in %v\n", fs.Arg(0), e.Vmlinux, time.Since(t0).Round(time.Millisecond))
	}
	return 0
}
