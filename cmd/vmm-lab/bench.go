package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/vmmlab/vmm/bench"
	"github.com/vmmlab/vmm/bench/report"
	"github.com/vmmlab/vmm/bench/results"
	"github.com/vmmlab/vmm/lab"
	"github.com/vmmlab/vmm/lab/labproto"
)

// fileMarker frames a file the outer guest sends back on its console:
// "LAB-FILE NAME" line, base64 of its gzip'd bytes, "LAB-FILE-END".
const fileMarker = labproto.File + " "

// extractFile finds file name in the console lines and decodes it.
func extractFile(lines []string, name string) ([]byte, error) {
	var b64 strings.Builder
	in := false
	for _, l := range lines {
		l = strings.TrimSpace(l)
		switch {
		case l == fileMarker+name:
			in = true
			b64.Reset()
		case in && l == labproto.FileEnd:
			zr, err := gzip.NewReader(base64.NewDecoder(base64.StdEncoding, strings.NewReader(b64.String())))
			if err != nil {
				return nil, fmt.Errorf("%s from the lab: %w", name, err)
			}
			return io.ReadAll(zr)
		case in:
			b64.WriteString(l)
		}
	}
	return nil, fmt.Errorf("the lab sent no %s (see the console log)", name)
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
	args := append([]string{"bench", "all", "--assets", filepath.Join(o.work, "bench"), "--kernel", micro,
		"--stock-kernel", k.BzImage, "--out", o.benchOut}, strings.Fields(o.benchArgs)...)
	cmd := exec.CommandContext(ctx, vmm, args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("vmm bench: %w", err)
	}
	return printSummary(filepath.Join(o.benchOut, "report.md"))
}

// writeBenchReport renders the lab's results.json into out. It came
// twice: on the console between LAB-FILE lines, which counts, and over
// the second serial port (channel), which must say the same.
func writeBenchReport(lines, channel []string, out string) error {
	data, err := extractFile(lines, "results.json.gz")
	if err != nil {
		return err
	}
	for _, p := range channel {
		switch b, err := os.ReadFile(p); {
		case err != nil:
			fmt.Printf("lab: results.json did not come over the second serial port: %v\n", err)
		case !bytes.Equal(b, data):
			fmt.Printf("lab: results.json over the second serial port (%d bytes) differs from the console's (%d bytes)\n", len(b), len(data))
		default:
			fmt.Println("lab: results.json came the same over both channels")
		}
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
