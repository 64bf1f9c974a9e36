package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/vmmlab/vmm/bench"
	"github.com/vmmlab/vmm/bench/report"
	"github.com/vmmlab/vmm/bench/results"
	"github.com/vmmlab/vmm/image/debian"
	"github.com/vmmlab/vmm/lab"
	"github.com/vmmlab/vmm/lab/labproto"
)

// benchResults finds results.json among the lab's events, and says how
// vmm bench ended.
func benchResults(events []labproto.Event) ([]byte, error) {
	for _, e := range events {
		if e.Action == labproto.Bench && e.Exit != 0 {
			fmt.Printf("lab: vmm bench all ended with exit status %d (see the console log)\n", e.Exit)
		}
	}
	for _, e := range slices.Backward(events) {
		if e.Action == labproto.File && e.Name == "results.json" {
			return e.FileData()
		}
	}
	return nil, errors.New("the lab sent no results.json (see the console log)")
}

// runBench runs `vmm bench all` where KVM is: natively when this host
// has /dev/kvm, otherwise in the nested lab. The report goes to
// o.benchOut; an earlier one there is kept as o.benchOut+".prev" (so that
// `vmm bench compare` can read both).
func runBench(ctx context.Context, o options) error {
	if err := keepPrevious(o.benchOut); err != nil {
		return err
	}
	if err := bench.KVMUsable(); err != nil {
		fmt.Printf("lab: %v: the bench runs in the nested lab\n", err)
		return runLab(ctx, o)
	}
	return runBenchNative(ctx, o)
}

// keepPrevious moves an earlier report aside.
func keepPrevious(out string) error {
	if _, err := os.Stat(out); err != nil {
		return nil
	}
	prev := out + ".prev"
	if err := os.RemoveAll(prev); err != nil {
		return err
	}
	return os.Rename(out, prev)
}

// runBenchNative builds the assets and runs bin/vmm bench on this host.
func runBenchNative(ctx context.Context, o options) error {
	k, err := lab.DebianKernel(ctx, o.cache, o.kernelPkg)
	if err != nil {
		return err
	}
	micro, err := lab.MicroKernel(ctx, "guestkernel/build.sh", o.cache, os.Stderr)
	if err != nil {
		return err
	}
	init := filepath.Join(o.work, "vmm-init")
	vmm := filepath.Join(o.work, "vmm")
	for bin, pkg := range map[string]string{init: "./cmd/vmm-init", vmm: "./cmd/vmm", vmm + "-bench": "./cmd/vmm-bench", vmm + "-tools": "./cmd/vmm-tools"} {
		flags := []string(nil)
		switch bin {
		case init:
			flags = []string{lab.StripFlags}
		case vmm:
			flags = []string{lab.VMMFlags}
		}
		if err := lab.GoBuild(ctx, bin, pkg, flags...); err != nil {
			return err
		}
	}
	if _, err := lab.BenchAssets(ctx, o.cache, o.work, k, init); err != nil {
		return err
	}
	imgs, err := debian.Build(ctx, o.cache, os.Stdout)
	if err != nil {
		return err
	}
	args := append([]string{"bench", "all", "--assets", filepath.Join(o.work, "bench"), "--kernel", micro,
		"--stock-kernel", k.BzImage, "--out", o.benchOut}, strings.Fields(o.benchArgs)...)
	args = append(args, lab.BenchApps(imgs.Dir)...)
	cmd := exec.CommandContext(ctx, vmm, args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("vmm bench: %w", err)
	}
	return printSummary(filepath.Join(o.benchOut, "report.md"))
}

// writeBenchReport renders the results.json the lab sent into out.
func writeBenchReport(events []labproto.Event, out string) error {
	data, err := benchResults(events)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	p := filepath.Join(out, "results.json")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		return err
	}
	r, err := results.ReadResults(p)
	if err != nil {
		return err
	}
	if err := report.WriteReports(out, r); err != nil {
		return err
	}
	fmt.Printf("lab: bench report in %s (report.html, report.md, results.json)\n", out)
	return printSummary(filepath.Join(out, "report.md"))
}

// printSummary prints the report's summary section.
func printSummary(md string) error {
	f, err := os.Open(md)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	on := false
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, "## ") {
			on = l == "## Summary" || l == "## The claims, measured"
		}
		if on {
			fmt.Println(l)
		}
	}
	return sc.Err()
}
