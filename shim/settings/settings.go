// Package settings owns the containerd shim's settings file: the TOML file
// the runtime options name (ctr run --runtime-config-path, CRI's
// options.ConfigPath), else DefaultPath. It says which kernel and initrd
// the shim's VMs boot, where vmm is, their memory, vCPUs and virtio
// transport, and whether a task runs in a VM or, for tests without KVM,
// as a host process. A file that is missing, malformed, has a key this
// package does not know or a value out of range is refused with one error
// that names the file and the key.
package settings

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/BurntSushi/toml"

	"github.com/vmmlab/vmm/internal/size"
)

// DefaultPath is read when the runtime options name no file.
const DefaultPath = "/etc/vmm/shim.toml"

// maxFileSize bounds the settings file: it is a handful of keys.
const maxFileSize = 64 << 10

// Backend says where a task's processes run.
type Backend string

const (
	// BackendVM runs each container in a vmm microVM (the default).
	BackendVM Backend = "vm"
	// BackendProcess runs a task as a host process: for tests on machines
	// without KVM.
	BackendProcess Backend = "process"
)

// Settings are the shim's settings, defaults filled in.
type Settings struct {
	Kernel      string  // guest kernel (bzImage or PVH vmlinux), an absolute path
	Initrd      string  // initramfs, absolute; "" for vmm's default
	VMM         string  // the vmm binary, absolute; "" to look beside the shim, then in PATH
	MemoryBytes uint64  // guest RAM
	CPUs        int     // vCPUs
	Virtio      string  // "pci" or "mmio"
	Backend     Backend // BackendVM or BackendProcess
}

// file is the TOML document; pointers tell a key that is absent from one
// set to its zero value.
type file struct {
	Kernel  *string `toml:"kernel"`
	Initrd  *string `toml:"initrd"`
	VMM     *string `toml:"vmm"`
	Memory  *string `toml:"memory"`
	CPUs    *int    `toml:"cpus"`
	Virtio  *string `toml:"virtio"`
	Backend *string `toml:"backend"`
}

// maxCPUs bounds cpus; vmm refuses more than its own limit at boot.
const maxCPUs = 255

// minMemory is the least memory accepted: vmm's own minimum guest RAM
// (the shim runs vmm; it does not link package machine).
const minMemory = 16 << 20

// Load reads and checks the settings file at path, which must be a
// regular file (a FIFO or a device is refused, never waited on).
func Load(path string) (Settings, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return Settings{}, fmt.Errorf("shim settings: %w", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil {
		return Settings{}, fmt.Errorf("shim settings: %w", err)
	} else if !st.Mode().IsRegular() {
		return Settings{}, fmt.Errorf("shim settings %s: not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return Settings{}, fmt.Errorf("shim settings %s: %w", path, err)
	}
	if len(data) > maxFileSize {
		return Settings{}, fmt.Errorf("shim settings %s: larger than %d KiB", path, maxFileSize>>10)
	}
	return Parse(data, path)
}

// VMMPath is the vmm binary the shim runs: the file's vmm, else vmm
// beside the shim's own executable shimExe, else vmm in PATH.
func (s Settings) VMMPath(shimExe string) (string, error) {
	if s.VMM != "" {
		return s.VMM, nil
	}
	beside := filepath.Join(filepath.Dir(shimExe), "vmm")
	if st, err := os.Stat(beside); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
		return beside, nil
	}
	p, err := exec.LookPath("vmm")
	if err != nil {
		return "", fmt.Errorf("shim settings: no vmm key, no vmm beside %s and none in PATH: %w", shimExe, err)
	}
	return p, nil
}

// Parse checks the settings document data; name says where it came from
// in errors.
func Parse(data []byte, name string) (Settings, error) {
	var doc file
	meta, err := toml.Decode(string(data), &doc)
	if err != nil {
		return Settings{}, fmt.Errorf("shim settings %s: %w", name, err)
	}
	if extra := meta.Undecoded(); len(extra) > 0 {
		keys := make([]string, len(extra))
		for i, k := range extra {
			keys[i] = k.String()
		}
		sort.Strings(keys)
		return Settings{}, fmt.Errorf("shim settings %s: unknown key %s (known: kernel, initrd, vmm, memory, cpus, virtio, backend)",
			name, strings.Join(keys, ", "))
	}
	s, err := doc.settings()
	if err != nil {
		return Settings{}, fmt.Errorf("shim settings %s: %w", name, err)
	}
	return s, nil
}

// settings fills in the defaults and checks every value.
func (d file) settings() (Settings, error) {
	s := Settings{MemoryBytes: 256 << 20, CPUs: 1, Virtio: "pci", Backend: BackendVM}
	var err error
	if d.Kernel == nil || *d.Kernel == "" {
		return s, errors.New("kernel: required (the guest kernel's absolute path)")
	}
	if s.Kernel, err = absolute("kernel", *d.Kernel); err != nil {
		return s, err
	}
	if d.Initrd != nil {
		if s.Initrd, err = absolute("initrd", *d.Initrd); err != nil {
			return s, err
		}
	}
	if d.VMM != nil {
		if s.VMM, err = absolute("vmm", *d.VMM); err != nil {
			return s, err
		}
	}
	if d.Memory != nil {
		if s.MemoryBytes, err = size.Parse(*d.Memory); err != nil {
			return s, fmt.Errorf("memory: %w", err)
		}
		if s.MemoryBytes < minMemory {
			return s, fmt.Errorf("memory = %q: want at least %d MiB", *d.Memory, minMemory>>20)
		}
	}
	if d.CPUs != nil {
		if *d.CPUs < 1 || *d.CPUs > maxCPUs {
			return s, fmt.Errorf("cpus = %d: want 1 to %d", *d.CPUs, maxCPUs)
		}
		s.CPUs = *d.CPUs
	}
	if d.Virtio != nil {
		if *d.Virtio != "pci" && *d.Virtio != "mmio" {
			return s, fmt.Errorf("virtio = %q: want \"pci\" or \"mmio\"", *d.Virtio)
		}
		s.Virtio = *d.Virtio
	}
	if d.Backend != nil {
		switch b := Backend(*d.Backend); b {
		case BackendVM, BackendProcess:
			s.Backend = b
		default:
			return s, fmt.Errorf("backend = %q: want \"vm\" or \"process\"", *d.Backend)
		}
	}
	return s, nil
}

// absolute checks that key's value p is an absolute path and cleans it.
func absolute(key, p string) (string, error) {
	if !filepath.IsAbs(p) {
		return "", fmt.Errorf("%s = %q: want an absolute path", key, p)
	}
	return filepath.Clean(p), nil
}
