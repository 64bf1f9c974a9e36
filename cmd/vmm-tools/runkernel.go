package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/vmmlab/vmm/internal/cli"
	"github.com/vmmlab/vmm/internal/rootdisk"
	"github.com/vmmlab/vmm/internal/size"
	"github.com/vmmlab/vmm/vmrun"
)

// The kernels `make microkernel` and `make` put beside vmm.
const (
	microKernelName  = "bzImage-micro"
	debianKernelName = "bzImage"
)

// kernelChoice is the guest kernel of a run and what goes with it.
type kernelChoice struct {
	kernel, initrd, virtio string
}

// chooseKernel picks the kernel: --kernel, else the minimal kernel
// (drivers built in: vmm-init alone, virtio-mmio), else the Debian
// kernel (its modules in the initramfs `make` builds, virtio-pci).
func chooseKernel(kernel, initrd, virtio string) (kernelChoice, error) {
	k := kernelChoice{kernel: kernel, initrd: initrd, virtio: "pci"}
	if kernel == "" {
		micro, debian := cli.BesideExecutable(microKernelName), cli.BesideExecutable(debianKernelName)
		switch {
		case exists(micro):
			k.kernel, k.virtio = micro, "mmio"
		case exists(debian):
			k.kernel = debian
			if initrd == "" {
				def, err := cli.DefaultInitramfs()
				if err != nil {
					return k, err
				}
				k.initrd = def
			}
		default:
			return k, fmt.Errorf("no guest kernel: neither %s (`make microkernel`) nor %s (`make`) exists; build one or give --kernel", micro, debian)
		}
	}
	if k.initrd == "none" {
		k.initrd = ""
	}
	if virtio != "" {
		k.virtio = virtio
	}
	if k.virtio != "pci" && k.virtio != "mmio" {
		return k, fmt.Errorf("--virtio %q: want pci or mmio", virtio)
	}
	for _, f := range []string{k.kernel, k.initrd} {
		if f != "" && !exists(f) {
			return k, fmt.Errorf("%s: %w", f, os.ErrNotExist)
		}
	}
	return k, nil
}

func exists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// makeScratchDisk gives cfg a sparse ext4 disk of sz for what the
// process writes, and returns how to remove it.
func makeScratchDisk(ctx context.Context, cfg *vmrun.Config, sz string) (func(), error) {
	n, err := size.Parse(sz)
	if err != nil {
		return nil, fmt.Errorf("--scratch-disk: %w", err)
	}
	if n < 8<<20 {
		return nil, errors.New("--scratch-disk: at least 8M")
	}
	dir, err := os.MkdirTemp("", "vmm-scratch-")
	if err != nil {
		return nil, err
	}
	cfg.ScratchDisk = filepath.Join(dir, "scratch.ext4")
	if err := rootdisk.Scratch(ctx, cfg.ScratchDisk, n); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("--scratch-disk: %w", err)
	}
	return func() { os.RemoveAll(dir) }, nil
}
