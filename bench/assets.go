package bench

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/vmmlab/vmm/initramfs"
)

// Assets are the files the targets run: one image, one set of workloads.
type Assets struct {
	VMM         string // the vmm binary
	MicroKernel string // vmm's minimal guest kernel (virtio-mmio, no modules)
	StockKernel string // the Debian kernel
	Image       string // the bench initramfs: u-root, vmm-init, workloads, modules
	// Rootfs is the containers' root: the same userland and workloads as
	// Image, unpacked.
	Rootfs string
	// Workloads holds the static workload programs (the process target
	// runs them from here; their bytes are the ones in Image and Rootfs).
	Workloads string
	QEMU      string // qemu-system-x86_64, "" when not installed
}

// Workloads lists the workload programs every image carries.
func Workloads() []string { return []string{"hello", "http", "cpu", "mem", "io"} }

// Check reports which required assets are missing, all at once.
func (a Assets) Check() error {
	var errs []error
	for _, f := range []struct{ what, path string }{
		{"vmm binary", a.VMM}, {"minimal kernel (--kernel)", a.MicroKernel}, {"Debian kernel (--stock-kernel)", a.StockKernel},
		{"bench image (--image)", a.Image}, {"container root (--rootfs)", a.Rootfs}, {"workloads (--workloads)", a.Workloads},
	} {
		if f.path == "" {
			errs = append(errs, fmt.Errorf("%s: not given", f.what))
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f.what, err))
		}
	}
	for _, w := range Workloads() {
		if a.Workloads == "" {
			break
		}
		if _, err := os.Stat(filepath.Join(a.Workloads, w)); err != nil {
			errs = append(errs, fmt.Errorf("workload %s: %w", w, err))
		}
	}
	return errors.Join(errs...)
}

// Workload is the host path of a workload program.
func (a Assets) Workload(name string) string { return filepath.Join(a.Workloads, name) }

// CheckWorkload rejects unknown workload names.
func CheckWorkload(name string) error {
	for _, w := range Workloads() {
		if w == name {
			return nil
		}
	}
	return fmt.Errorf("unknown workload %q: want one of %v", name, Workloads())
}

// PrepareRootfs unpacks the bench image into cacheDir/bench-rootfs/HASH
// (once per image) and returns it: the containers' root then holds the
// same bytes, userland and workloads, as the VMs' initramfs.
func PrepareRootfs(image, cacheDir string) (string, error) {
	sum, err := fileSHA256(image)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cacheDir, "bench-rootfs", sum[:16])
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err == nil {
		return dir, nil
	}
	a, err := initramfs.ReadFile(image)
	if err != nil {
		return "", fmt.Errorf("bench image: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	if err := a.ExtractTo(tmp); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(tmp, ".complete"), nil, 0o644); err != nil {
		return "", err
	}
	os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		return "", err
	}
	return dir, nil
}

func fileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
