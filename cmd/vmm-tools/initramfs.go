package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"time"

	flag "github.com/spf13/pflag"

	"github.com/vmmlab/vmm/initramfs"
	"github.com/vmmlab/vmm/internal/cli"
)

func runInitramfs(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "build" {
		fmt.Fprintln(stderr, "usage: vmm initramfs build -o FILE [--workload BIN ...] [--modules-from DIR] [--shell]")
		return 2
	}
	fs := flag.NewFlagSet("vmm initramfs build", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.StringP("output", "o", "", "where to write the image (required)")
	workloads := fs.StringArray("workload", nil, "a static program to put in /bin (repeatable); run it with vmm.run=/bin/NAME")
	modules := fs.String("modules-from", "", "lib/modules/VERSION directory of the guest kernel: its virtio modules go into the image")
	shell := fs.Bool("shell", false, "start the u-root shell after the workload instead of powering off")
	init := fs.String("init", "", "the static vmm-init binary (default: vmm-init beside this vmm)")
	noGzip := fs.Bool("no-gzip", false, "write a plain cpio instead of gzip")
	cache := fs.String("cache", "", "cache for the u-root build (default: vmm's cache directory)")
	verbose := fs.BoolP("verbose", "v", false, "show the u-root build's output")
	if code, ok := cli.ParseFlags(fs, args[1:], stderr); !ok {
		return code
	}
	if *out == "" {
		fmt.Fprintln(stderr, "vmm initramfs build: -o FILE is required")
		return 2
	}
	if *init == "" {
		*init = cli.BesideExecutable("vmm-init")
	}
	if *cache == "" {
		var err error
		if *cache, err = cli.CacheDir(); err != nil {
			fmt.Fprintln(stderr, "vmm initramfs build:", err)
			return 1
		}
	}
	im := initramfs.Image{Init: *init, Workloads: *workloads, ModulesFrom: *modules, Shell: *shell}
	if err := buildImage(im, *out, !*noGzip, *cache, *verbose, stderr); err != nil {
		fmt.Fprintln(stderr, "vmm initramfs build:", err)
		return 1
	}
	return 0
}

func buildImage(im initramfs.Image, out string, gzip bool, cache string, verbose bool, stderr io.Writer) error {
	// Check the inputs before the slow u-root build.
	if _, err := im.Compose(&initramfs.Archive{}); err != nil {
		return err
	}
	start := time.Now()
	log := io.Discard
	if verbose {
		log = stderr
	}
	base, err := initramfs.BuildURoot(context.Background(), cache, log)
	if err != nil {
		return err
	}
	a, err := im.Compose(base)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if gzip {
		err = a.WriteGzip(&buf)
	} else {
		_, err = a.WriteTo(&buf)
	}
	if err != nil {
		return err
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "vmm: wrote %s (%.1f MiB, %d entries) in %v\n", out, float64(buf.Len())/(1<<20),
		len(a.Paths()), time.Since(start).Round(100*time.Millisecond))
	return nil
}
