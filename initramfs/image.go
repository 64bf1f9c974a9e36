package initramfs

import (
	"bufio"
	"bytes"
	"debug/elf"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// DefaultModules are loaded by the guest init when an image carries
// modules: stock distribution kernels build virtio and ext4 as modules.
// Their dependencies (virtio, virtio_ring, failover, jbd2, ...) come along;
// crc32c is only a soft dependency of ext4, so it is named here.
func DefaultModules() []string {
	return []string{"virtio_pci", "virtio_mmio", "virtio_blk", "virtio_net", "virtio_rng", "virtio_balloon", "vmw_vsock_virtio_transport", "crc32c_generic", "ext4", "overlay"}
}

// Image describes an initramfs for vmm guests.
type Image struct {
	Init        string   // the static vmm-init binary, installed as /init
	Workloads   []string // static programs, installed as /bin/NAME
	ModulesFrom string   // lib/modules/VERSION of the guest kernel; "" for none
	Modules     []string // modules to load (default DefaultModules)
	Shell       bool     // start the shell after the workload instead of powering off
}

// Compose builds the image on top of base (the u-root userland from
// BuildURoot, which it does not modify).
func (im Image) Compose(base *Archive) (*Archive, error) {
	a := &Archive{entries: maps.Clone(base.entries)}
	if err := CheckStatic(im.Init); err != nil {
		return nil, fmt.Errorf("init: %w", err)
	}
	steps := []error{
		a.AddFileFrom("init", im.Init),
		a.AddDir("dev", 0o755), a.AddCharDev("dev/console", 0o600, 5, 1),
		a.AddDir("proc", 0o755), a.AddDir("sys", 0o755), a.AddDir("tmp", 0o1777),
		a.AddDir("run", 0o755), a.AddDir("etc/vmm", 0o755),
	}
	for _, err := range steps {
		if err != nil {
			return nil, err
		}
	}
	for _, w := range im.Workloads {
		if err := CheckStatic(w); err != nil {
			return nil, fmt.Errorf("workload: %w", err)
		}
		if err := a.AddFileFrom(path.Join("bin", filepath.Base(w)), w); err != nil {
			return nil, fmt.Errorf("workload: %w", err)
		}
	}
	if im.Shell {
		if err := a.AddFile("etc/vmm/shell", 0o644, nil); err != nil {
			return nil, err
		}
	}
	if im.ModulesFrom != "" {
		if err := im.addModules(a); err != nil {
			return nil, err
		}
	}
	return a, nil
}

func (im Image) addModules(a *Archive) error {
	dir := filepath.Clean(im.ModulesFrom)
	version := filepath.Base(dir)
	names := im.Modules
	if len(names) == 0 {
		names = DefaultModules()
	}
	builtin := builtinModules(dir)
	var wanted []string
	for _, n := range names {
		if !builtin[ModuleName(n)] {
			wanted = append(wanted, n)
		}
	}
	order, err := LoadOrderFromDir(dir, wanted...)
	if err != nil {
		return fmt.Errorf("modules from %s: %w", dir, err)
	}
	var list bytes.Buffer
	for _, rel := range order {
		if !strings.HasSuffix(rel, ".ko") {
			return fmt.Errorf("module %s is compressed; the guest init loads plain .ko files", rel)
		}
		guest := path.Join("lib/modules", version, filepath.ToSlash(rel))
		if err := a.AddFileFrom(guest, filepath.Join(dir, rel)); err != nil {
			return err
		}
		fmt.Fprintf(&list, "/%s\n", guest)
	}
	return a.AddFile("etc/vmm/modules", 0o644, list.Bytes())
}

// builtinModules reads modules.builtin: modules compiled into the kernel,
// which need no loading.
func builtinModules(dir string) map[string]bool {
	out := map[string]bool{}
	f, err := os.Open(filepath.Join(dir, "modules.builtin"))
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		out[ModuleName(strings.TrimSpace(sc.Text()))] = true
	}
	return out
}

// CheckStatic fails unless p is an ELF executable without a program
// interpreter: a guest or lab image has no dynamic loader or libraries.
func CheckStatic(p string) error {
	f, err := elf.Open(p)
	if err != nil {
		if _, serr := os.Stat(p); serr != nil {
			return serr
		}
		return fmt.Errorf("%s is not an ELF executable: %w", p, err)
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked (build it with CGO_ENABLED=0)", p)
		}
	}
	return nil
}
