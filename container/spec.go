package container

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
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
	// Process, when set, is the process an OCI image runs (package
	// image/process): its argv (Args must be the same), environment,
	// working directory and user, with Docker's default capabilities;
	// Args[0] is then looked up by the runtime, on the image's PATH.
	Process *specs.Process
	// Writable leaves the root writable (an image's overlay with an upper
	// directory of the container's own).
	Writable bool
}

func (c Config) check() error {
	switch {
	case c.ID == "" || strings.ContainsAny(c.ID, "/ \t\n") || len(c.ID) > 64:
		return fmt.Errorf("container id %q: want 1-64 characters without slashes or spaces", c.ID)
	case len(c.Args) == 0:
		return fmt.Errorf("container %s: no command", c.ID)
	case c.Process != nil && !slices.Equal(c.Process.Args, c.Args):
		return fmt.Errorf("container %s: the image's process and Args differ", c.ID)
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
	proc := &specs.Process{
		Args: c.Args, Env: env, Cwd: "/",
		User:            specs.User{UID: 0, GID: 0},
		NoNewPrivileges: true,
		Capabilities:    &specs.LinuxCapabilities{Bounding: caps, Effective: caps, Permitted: caps},
		Rlimits:         []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 1024, Soft: 1024}},
	}
	mounts := []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc"},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
		{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "mode=1777", "size=65536k"}},
	}
	if c.Process != nil {
		// an image's process as Docker runs it: its own /tmp, and
		// Docker's default capabilities (a server that drops to its
		// user needs CAP_SETUID and CAP_SETGID)
		proc.Args, proc.Env, proc.Cwd, proc.User = c.Process.Args, c.Process.Env, c.Process.Cwd, c.Process.User
		proc.NoNewPrivileges = false
		dc := dockerCaps()
		proc.Capabilities = &specs.LinuxCapabilities{Bounding: dc, Effective: dc, Permitted: dc}
		mounts = mounts[:len(mounts)-1]
	}
	return &specs.Spec{
		Version:  SpecVersion,
		Hostname: c.ID,
		Root:     &specs.Root{Path: c.Rootfs, Readonly: !c.Writable},
		Process:  proc,
		Mounts:   mounts,
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

// dockerCaps are Docker's default capabilities.
func dockerCaps() []string {
	return []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
		"CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"}
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
