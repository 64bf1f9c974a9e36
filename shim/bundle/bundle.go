// Package bundle owns what the containerd shim reads from an OCI bundle:
// its config.json, bounded and parsed, and the check that the spec asks
// for nothing a microVM cannot give (a host path bound in, a host device,
// a host namespace other than the network's). containerd and whoever
// wrote the container's spec control the bundle, so everything in it is
// untrusted input.
package bundle

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// maxConfigSize bounds config.json (containerd's are a few KiB; a CRI
// spec with many mounts and env stays far under this).
const maxConfigSize = 4 << 20

// LoadSpec reads and parses dir/config.json, a regular file of at most
// maxConfigSize (a FIFO or a symlink is refused, never followed or
// waited on).
func LoadSpec(dir string) (*specs.Spec, error) {
	path := filepath.Join(dir, "config.json")
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	} else if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("bundle: %s is not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxConfigSize+1))
	if err != nil {
		return nil, fmt.Errorf("bundle: %s: %w", path, err)
	}
	if len(data) > maxConfigSize {
		return nil, fmt.Errorf("bundle: %s is larger than %d MiB", path, maxConfigSize>>20)
	}
	var spec specs.Spec
	if err := json.Unmarshal(data, &spec); err != nil {
		return nil, fmt.Errorf("bundle: %s: %w", path, err)
	}
	if spec.Process == nil || len(spec.Process.Args) == 0 {
		return nil, fmt.Errorf("bundle: %s: no process to run (process.args is empty)", path)
	}
	return &spec, nil
}

// guestMounts are the file system types the guest makes itself: a mount
// of one of these names no host path.
var guestMounts = []string{"proc", "sysfs", "tmpfs", "devpts", "mqueue", "cgroup", "cgroup2"}

// CheckSpec says what in spec a microVM cannot honour, all of it in one
// error, or nil: a bind mount of a host path, a host device, a host
// namespace to join other than the network's (the VM's NIC is joined to
// that one).
func CheckSpec(spec *specs.Spec) error {
	var problems []string
	for _, m := range spec.Mounts {
		if isBind(m) || !slices.Contains(guestMounts, m.Type) {
			problems = append(problems, fmt.Sprintf("mount of %s on %s (type %q): a VM cannot see host paths", m.Source, m.Destination, m.Type))
		}
	}
	if l := spec.Linux; l != nil {
		for _, d := range l.Devices {
			problems = append(problems, fmt.Sprintf("device %s: a VM has no host devices (a privileged container asks for all of them)", d.Path))
		}
		for _, ns := range l.Namespaces {
			if ns.Path != "" && ns.Type != specs.NetworkNamespace {
				problems = append(problems, fmt.Sprintf("%s namespace %s: a VM cannot join a host namespace", ns.Type, ns.Path))
			}
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return errors.New("this container cannot run in a microVM: " + strings.Join(problems, "; "))
}

// isBind reports whether m binds a path: type bind, or a bind option.
func isBind(m specs.Mount) bool {
	return m.Type == "bind" || slices.Contains(m.Options, "bind") || slices.Contains(m.Options, "rbind")
}
