package lab

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/vmmlab/vmm/bench/workload"
	"github.com/vmmlab/vmm/initramfs"
	"github.com/vmmlab/vmm/internal/rootdisk"
)

// guestImages builds the u-root userland once and composes two images from
// it: the default one (shell, the kernel's virtio modules) and one with the
// test workload.
func guestImages(ctx context.Context, cache, work string, k Kernel, bins map[string]string) (map[string]string, error) {
	base, err := initramfs.BuildURoot(ctx, cache, io.Discard)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for name, im := range map[string]initramfs.Image{
		"default":  {Init: bins["vmm-init"], ModulesFrom: k.ModulesDir},
		"workload": {Init: bins["vmm-init"], ModulesFrom: k.ModulesDir, Workloads: []string{bins["testworkload"]}},
	} {
		a, err := im.Compose(base)
		if err != nil {
			return nil, fmt.Errorf("%s image: %w", name, err)
		}
		out[name] = filepath.Join(work, name+".cpio.gz")
		if err := writeFile(out[name], a.WriteGzip); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ext4Image makes a 32 MiB ext4 image holding hello.txt, for the disk tests.
func ext4Image(ctx context.Context, work string) (string, error) {
	src := filepath.Join(work, "disk-root")
	os.RemoveAll(src)
	if err := os.MkdirAll(src, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(src, "hello.txt"), []byte("hello from the host disk\n"), 0o644); err != nil {
		return "", err
	}
	img := filepath.Join(work, "disk.img")
	os.Remove(img)
	out, err := exec.CommandContext(ctx, "mkfs.ext4", "-q", "-F", "-L", "vmmtest", "-d", src, img, "32M").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("mkfs.ext4 (package e2fsprogs): %w: %s", err, out)
	}
	return img, nil
}

// BenchAssets builds the bench's workloads (static, stripped), its image
// (u-root, vmm-init, the workloads, the Debian kernel's virtio modules),
// the same tree as the VMs' read-only root disk, and the Debian kernel's
// small initramfs (vmm-init and the modules for that disk) into
// work/bench, and returns the outer-guest files that carry them (below
// /lab/bench).
func BenchAssets(ctx context.Context, cache, work string, k Kernel, vmmInit string) (map[string]string, error) {
	dir := filepath.Join(work, "bench")
	if err := os.MkdirAll(filepath.Join(dir, "workloads"), 0o755); err != nil {
		return nil, err
	}
	files := map[string]string{}
	var progs []string
	for _, w := range workload.Names() {
		out := filepath.Join(dir, "workloads", w)
		if err := GoBuild(ctx, out, "./bench/workload/"+w, StripFlags); err != nil {
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
	if err := rootdisk.Make(ctx, tree, disk); err != nil {
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
		files, err := WithLibraries(group...)
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
