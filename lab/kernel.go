// Package lab owns the nested-KVM lab: it fetches a Debian kernel package
// with apt (cached outside the clone), builds an outer initramfs holding
// busybox, the KVM modules and the project's KVM test binaries, boots it
// under QEMU's software emulation (whose emulated AMD CPU offers SVM, so
// the outer kernel gets a real /dev/kvm), and turns the console log into a
// pass/fail report. Run is the whole pipeline: it builds vmm, its helpers
// and the test binaries, the guest kernels and images and the bench's
// assets, writes the outer image and boots it; cmd/vmm-lab is its flags.
package lab

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Kernel is an unpacked Debian linux-image package.
type Kernel struct {
	Package    string // e.g. linux-image-6.1.0-56-amd64
	Version    string // e.g. 6.1.0-56-amd64
	BzImage    string // the bzImage (boot/vmlinuz-VERSION)
	ModulesDir string // lib/modules/VERSION
}

// DebianKernel resolves meta (e.g. "linux-image-amd64") to the versioned
// kernel package apt would install, and returns it unpacked under
// cacheDir/kernels, downloading it with `apt-get download` only when that
// version is not cached yet.
func DebianKernel(ctx context.Context, cacheDir, meta string) (Kernel, error) {
	pkg, err := resolveKernelPackage(ctx, meta)
	if err != nil {
		return Kernel{}, err
	}
	dest := filepath.Join(cacheDir, "kernels", pkg)
	if k, err := findKernel(pkg, dest); err == nil {
		return k, nil
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return Kernel{}, fmt.Errorf("kernel cache: %w", err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dest), pkg+".partial-")
	if err != nil {
		return Kernel{}, fmt.Errorf("kernel cache: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := run(ctx, tmp, "apt-get", "download", pkg); err != nil {
		return Kernel{}, fmt.Errorf("download %s: %w", pkg, err)
	}
	debs, _ := filepath.Glob(filepath.Join(tmp, "*.deb"))
	if len(debs) != 1 {
		return Kernel{}, fmt.Errorf("apt-get download %s left %d .deb files", pkg, len(debs))
	}
	root := filepath.Join(tmp, "root")
	if err := run(ctx, tmp, "dpkg-deb", "-x", debs[0], root); err != nil {
		return Kernel{}, fmt.Errorf("unpack %s: %w", debs[0], err)
	}
	if _, err := findKernel(pkg, root); err != nil {
		return Kernel{}, err
	}
	os.RemoveAll(dest)
	if err := os.Rename(root, dest); err != nil {
		return Kernel{}, fmt.Errorf("kernel cache: %w", err)
	}
	return findKernel(pkg, dest)
}

func resolveKernelPackage(ctx context.Context, meta string) (string, error) {
	if !strings.HasPrefix(meta, "linux-image-") {
		return "", fmt.Errorf("kernel package %q: want a linux-image-* package", meta)
	}
	out, err := exec.CommandContext(ctx, "apt-cache", "depends", meta).Output()
	if err != nil {
		return "", fmt.Errorf("apt-cache depends %s: %w (is this a Debian system? run apt-get update first)", meta, err)
	}
	pkg, err := parseKernelDepends(out)
	if err != nil {
		return "", fmt.Errorf("apt-cache depends %s: %w (run apt-get update first?)", meta, err)
	}
	if pkg == "" {
		return meta, nil // already a versioned image package
	}
	return pkg, nil
}

// parseKernelDepends picks the versioned image package out of `apt-cache
// depends` output: "" when the package depends on no other image (it is
// already versioned).
func parseKernelDepends(out []byte) (string, error) {
	sc := bufio.NewScanner(bytes.NewReader(out))
	first := true
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if first {
			first = false
			if line == "" {
				return "", fmt.Errorf("no such package")
			}
			continue
		}
		dep, ok := strings.CutPrefix(line, "Depends: ")
		if ok && strings.HasPrefix(dep, "linux-image-") && len(dep) > 12 && dep[12] >= '0' && dep[12] <= '9' {
			return dep, nil
		}
	}
	if first {
		return "", fmt.Errorf("no such package")
	}
	return "", nil
}

func findKernel(pkg, root string) (Kernel, error) {
	images, _ := filepath.Glob(filepath.Join(root, "boot", "vmlinuz-*"))
	if len(images) != 1 {
		return Kernel{}, fmt.Errorf("%s: want one boot/vmlinuz-*, found %d", root, len(images))
	}
	version := strings.TrimPrefix(filepath.Base(images[0]), "vmlinuz-")
	mods := filepath.Join(root, "lib", "modules", version)
	if _, err := os.Stat(filepath.Join(mods, "kernel")); err != nil {
		return Kernel{}, fmt.Errorf("%s: no kernel modules: %w", root, err)
	}
	return Kernel{Package: pkg, Version: version, BzImage: images[0], ModulesDir: mods}, nil
}

func run(ctx context.Context, dir, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}
