package bench

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/vmmlab/vmm/bench/workload"
)

// Assets are the files the targets run: one image, one set of workloads.
type Assets struct {
	VMM         string // the vmm binary
	MicroKernel string // vmm's minimal guest kernel (virtio-mmio, no modules)
	StockKernel string // the Debian kernel
	Image       string // the bench image: u-root, vmm-init, workloads, modules (newc cpio)
	// Rootfs is the containers' root: Image unpacked.
	Rootfs string
	// RootDisk is the VMs' root: the same tree as an ext4 image, attached
	// read-only (MakeRootDisk builds it).
	RootDisk string
	// StockInitrd is the Debian kernel's initramfs: vmm-init and the
	// modules it needs to mount RootDisk.
	StockInitrd string
	// Workloads holds the static workload programs (the process target
	// runs them from here; their bytes are the ones in Image and Rootfs).
	Workloads string
	QEMU      string // qemu-system-x86_64, "" when not installed
	// Unpacked is where vm-stock's vmm keeps the Debian kernel it unpacked
	// (vmm boot --unpack-kernel); "" boots the bzImage through its own
	// decompressor.
	Unpacked string
	// OCI, when set, is the OCI image the start benchmark runs instead of
	// a workload (vmm bench start --oci-image).
	OCI *OCIImage
}

// Workloads lists the workload programs every image carries.

// Check reports which required assets are missing, all at once; the
// VMs' (vmm, the kernels, the root disk) only when VMs run.
func (a Assets) Check(vms bool) error {
	var errs []error
	type asset struct{ what, path string }
	required := []asset{{"bench image (--image)", a.Image}, {"container root (--rootfs)", a.Rootfs}, {"workloads (--workloads)", a.Workloads}}
	if vms {
		required = append(required, asset{"vmm binary", a.VMM}, asset{"minimal kernel (--kernel)", a.MicroKernel}, asset{"Debian kernel (--stock-kernel)", a.StockKernel},
			asset{"VM root disk (--root-disk)", a.RootDisk}, asset{"Debian kernel's initramfs (--stock-initrd)", a.StockInitrd})
	}
	for _, f := range required {
		if f.path == "" {
			errs = append(errs, fmt.Errorf("%s: not given", f.what))
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f.what, err))
		}
	}
	for _, w := range workload.Names() {
		if a.Workloads == "" {
			break
		}
		if _, err := os.Stat(filepath.Join(a.Workloads, w)); err != nil {
			errs = append(errs, fmt.Errorf("workload %s: %w", w, err))
		}
	}
	if len(errs) == 0 {
		return nil
	}
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return errors.New(strings.Join(msgs, "; "))
}

// Workload is the host path of a workload program.
func (a Assets) Workload(name string) string { return filepath.Join(a.Workloads, name) }

// CheckWorkload rejects unknown workload names.
func CheckWorkload(name string) error {
	for _, w := range workload.Names() {
		if w == name {
			return nil
		}
	}
	return fmt.Errorf("unknown workload %q: want one of %v", name, workload.Names())
}
