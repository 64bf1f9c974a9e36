package container

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// SpecVersion is the runtime-spec version bundles declare: the one the
// oldest supported runtime (crun 1.8 in Debian 12) accepts; nothing here
// needs a later one.
const SpecVersion = "1.0.2"

// CFSPeriod is the CPU bandwidth period, in microseconds, that --cpus is
// a fraction of (the kernel's and Docker's default, 100 ms).
const CFSPeriod = 100_000

// Config is one container to run.
type Config struct {
	ID     string   // unique among running containers
	Args   []string // the workload; Args[0] is looked up in the rootfs's /bin
	Rootfs string   // absolute path of a (shared, read-only) root file system
	// Group is the absolute cgroups path, e.g. /vmm/<ID>.
	Group string
	// MemLimit in bytes (0: none); Pids limits the number of tasks (0: none).
	MemLimit int64
	Pids     int64
	// CPUs is the CPU bandwidth in CPUs (0.5 = half of one; 0: none).
	CPUs float64
	// NetNS is a network namespace to join (a path such as
	// /proc/<pid>/ns/net or /run/netns/x); "" gives the container an
	// empty one of its own.
	NetNS string
	Env   []string
}

func (c Config) check() error {
	switch {
	case c.ID == "" || strings.ContainsAny(c.ID, "/ \t\n") || len(c.ID) > 64:
		return fmt.Errorf("container id %q: want 1-64 characters without slashes or spaces", c.ID)
	case len(c.Args) == 0:
		return fmt.Errorf("container %s: no command", c.ID)
	case !filepath.IsAbs(c.Rootfs):
		return fmt.Errorf("container %s: rootfs %q is not an absolute path", c.ID, c.Rootfs)
	case !filepath.IsAbs(c.Group) || filepath.Clean(c.Group) != c.Group || c.Group == "/":
		return fmt.Errorf("container %s: cgroups path %q: want a clean absolute path below /", c.ID, c.Group)
	case c.MemLimit < 0 || c.Pids < 0 || c.CPUs < 0:
		return fmt.Errorf("container %s: negative limit", c.ID)
	case c.MemLimit > 0 && c.MemLimit < 4<<20:
		return fmt.Errorf("container %s: memory limit %d bytes: at least 4 MiB is needed to start a process", c.ID, c.MemLimit)
	}
	return nil
}

// Spec is the OCI runtime configuration (config.json) for c: the
// workload as PID 1 of new pid, mount, uts, ipc and net namespaces, on a
// read-only root, with the limits in c's cgroup.
func (c Config) Spec() (*specs.Spec, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	netns := specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: c.NetNS}
	caps := []string{"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"}
	res := &specs.LinuxResources{
		Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
	}
	if c.MemLimit > 0 {
		res.Memory = &specs.LinuxMemory{Limit: &c.MemLimit}
	}
	if c.Pids > 0 {
		res.Pids = &specs.LinuxPids{Limit: &c.Pids}
	}
	if c.CPUs > 0 {
		quota, period := int64(c.CPUs*CFSPeriod), uint64(CFSPeriod)
		if quota < 1000 {
			return nil, fmt.Errorf("container %s: %g CPUs is below the kernel's 1 ms CFS quota floor", c.ID, c.CPUs)
		}
		res.CPU = &specs.LinuxCPU{Quota: &quota, Period: &period}
	}
	env := append([]string{"PATH=/bin:/bbin", "HOME=/"}, c.Env...) // /bbin: u-root's commands
	return &specs.Spec{
		Version:  SpecVersion,
		Hostname: c.ID,
		Root:     &specs.Root{Path: c.Rootfs, Readonly: true},
		Process: &specs.Process{
			Args: c.Args, Env: env, Cwd: "/",
			User:            specs.User{UID: 0, GID: 0},
			NoNewPrivileges: true,
			Capabilities:    &specs.LinuxCapabilities{Bounding: caps, Effective: caps, Permitted: caps},
			Rlimits:         []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 1024, Soft: 1024}},
		},
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}},
			{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
			{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
			{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "mode=1777", "size=65536k"}},
		},
		Linux: &specs.Linux{
			CgroupsPath: c.Group,
			Resources:   res,
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace}, netns, {Type: specs.IPCNamespace},
				{Type: specs.UTSNamespace}, {Type: specs.MountNamespace},
			},
			MaskedPaths: []string{"/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
				"/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware"},
			ReadonlyPaths: []string{"/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"},
		},
	}, nil
}

// WriteBundle writes dir/config.json for c; dir must exist.
func (c Config) WriteBundle(dir string) error {
	s, err := c.Spec()
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(s, "", "\t")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644)
}
