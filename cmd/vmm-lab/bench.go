package main

import (
	"bufio"
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
	"github.com/vmmlab/vmm/initramfs"
	"github.com/vmmlab/vmm/lab"
)

// benchAssets builds the bench's workloads (static, stripped), its image
// (u-root, vmm-init, the workloads, the Debian kernel's virtio modules),
// the same tree as the VMs' read-only root disk, and the Debian kernel's
// small initramfs (vmm-init and the modules for that disk) into
// work/bench, and returns the outer-guest files that carry them (below
// /lab/bench).
func benchAssets(ctx context.Context, cache, work string, k lab.Kernel, vmmInit string) (map[string]string, error) {
	dir := filepath.Join(work, "bench")
	if err := os.MkdirAll(filepath.Join(dir, "workloads"), 0o755); err != nil {
		return nil, err
	}
	files := map[string]string{}
	var progs []string
	for _, w := range bench.Workloads() {
		out := filepath.Join(dir, "workloads", w)
		if err := goBuild(ctx, out, "./bench/workload/"+w, stripFlags); err != nil {
			return nil, err
		}
		progs = append(progs, out)
		files["bench/workloads/"+w] = out
	}
	base, err := initramfs.BuildURoot(ctx, cache, io.Discard)
	if err != nil {
		return nil, err
	}
	a, err := initramfs.Image{Init: vmmInit, ModulesFrom: k.ModulesDir, Workloads: progs}.Compose(base)
	if err != nil {
		return nil, fmt.Errorf("bench image: %w", err)
	}
	stock, err := initramfs.Image{Init: vmmInit, ModulesFrom: k.ModulesDir}.Compose(&initramfs.Archive{})
	if err != nil {
		return nil, fmt.Errorf("the Debian kernel's bench initramfs: %w", err)
	}
	for name, arch := range map[string]*initramfs.Archive{"bench.cpio.gz": a, "stock.cpio.gz": stock} {
		p := filepath.Join(dir, name)
		if err := writeFile(p, arch.WriteGzip); err != nil {
			return nil, err
		}
		files["bench/"+name] = p
	}
	tree, err := os.MkdirTemp(dir, "root-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tree)
	if err := a.ExtractTo(tree); err != nil {
		return nil, fmt.Errorf("bench root: %w", err)
	}
	disk := filepath.Join(dir, "root.ext4")
	if err := bench.MakeRootDisk(ctx, tree, disk); err != nil {
		return nil, err
	}
	files["bench/root.ext4"] = disk
	return files, nil
}

// benchHostFiles are the peer targets the outer guest runs for the
// bench, each with its shared libraries and the firmware QEMU loads: the
// ones not installed are left out (the bench then lists them as skipped).
func benchHostFiles() []string {
	var out []string
	docker := "docker"
	if _, err := os.Stat("/usr/bin/docker"); err == nil {
		docker = "/usr/bin/docker" // Debian's, matching its dockerd (the outer guest's PATH has no /usr/local)
	}
	for _, group := range [][]string{{"qemu-system-x86_64"}, {"runsc"}, {"dockerd", docker, "containerd", "containerd-shim-runc-v2"}} {
		files, err := lab.WithLibraries(group...)
		if err != nil {
			continue
		}
		out = appendNew(out, files...)
		if group[0] == "qemu-system-x86_64" {
			for _, fw := range []string{"/usr/share/qemu/bios-microvm.bin", "/usr/share/qemu/qboot.rom"} {
				if _, err := os.Stat(fw); err == nil {
					out = append(out, fw)
				}
			}
		}
	}
	return out
}

// appendNew appends the paths that list does not hold yet.
func appendNew(list []string, paths ...string) []string {
	seen := map[string]bool{}
	for _, p := range list {
		seen[p] = true
	}
	for _, p := range paths {
		if !seen[p] {
			seen[p] = true
			list = append(list, p)
		}
	}
	return list
}

// fileMarker frames a file the outer guest sends back on its console:
// "LAB-FILE NAME" line, base64 of its gzip'd bytes, "LAB-FILE-END".
const fileMarker = "LAB-FILE "

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
		case in && l == "LAB-FILE-END":
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
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		fmt.Printf("lab: no usable /dev/kvm here (%v): the bench runs in the nested lab\n", err)
		return runLab(ctx, o)
	}
	f.Close()
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
	for bin, pkg := range map[string]string{init: "./cmd/vmm-init", vmm: "./cmd/vmm", vmm + "-bench": "./cmd/vmm-bench"} {
		flags := []string(nil)
		if bin == init {
			flags = []string{stripFlags}
		}
		if err := goBuild(ctx, bin, pkg, flags...); err != nil {
			return err
		}
	}
	if _, err := benchAssets(ctx, o.cache, o.work, k, init); err != nil {
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

// writeBenchReport renders the lab's results.json into out.
func writeBenchReport(lines []string, out string) error {
	data, err := extractFile(lines, "results.json.gz")
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
	r, err := bench.ReadResults(p)
	if err != nil {
		return err
	}
	if err := bench.WriteReports(out, r); err != nil {
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
