package container

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vmmlab/vmm/cgroup"
)

// explain says how the created (not yet started) container is set up,
// one fact a line: first what vmm wrote into config.json, then what the
// kernel shows for the workload's process, so that a student sees both
// the request and its effect.
func (ct *Container) explain() []string {
	var out []string
	say := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	c, pid := ct.cfg, ct.proc.Pid
	say("vmm wrote %s: run %q as PID 1 on the root %s, mounted read-only, with hostname %s.",
		filepath.Join(ct.bundle, "config.json"), strings.Join(c.Args, " "), c.Rootfs, c.ID)
	say("%s create made process %d (the workload, stopped before its first instruction until start) and returned.", ct.rt.Name, pid)
	for _, ns := range []struct{ proc, what string }{{"pid", "PID"}, {"net", "network"}, {"ipc", "IPC"}, {"uts", "UTS (hostname)"},
		{"mnt", "mount"}, {"cgroup", "cgroup"}, {"user", "user"}, {"time", "time"}} {
		mine, err1 := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, ns.proc))
		host, err2 := os.Readlink("/proc/self/ns/" + ns.proc)
		switch {
		case err1 != nil || err2 != nil:
		case mine != host:
			say("A new %s namespace: /proc/%d/ns/%s is %s, the host's %s.", ns.what, pid, ns.proc, mine, host)
		default:
			say("The host's %s namespace, shared (%s).", ns.what, mine)
		}
	}
	out = append(out, ct.explainCgroup(pid)...)
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", pid)); err == nil {
		var mounts []string
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			f := strings.Fields(line)
			if len(f) < 10 {
				continue
			}
			sep := 6
			for sep < len(f) && f[sep] != "-" {
				sep++
			}
			if sep+1 < len(f) {
				mounts = append(mounts, fmt.Sprintf("%s (%s, %s)", f[4], f[sep+1], strings.Split(f[5], ",")[0]))
			}
		}
		say("Its %d mounts: %s.", len(mounts), strings.Join(mounts, "; "))
	}
	if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		field := func(k string) string {
			for _, line := range strings.Split(string(st), "\n") {
				if v, ok := strings.CutPrefix(line, k+":"); ok {
					return strings.TrimSpace(v)
				}
			}
			return "?"
		}
		say("It runs as uid %s, gid %s (the host's root: no user namespace maps it elsewhere).", strings.Fields(field("Uid"))[0], strings.Fields(field("Gid"))[0])
		say("Effective capabilities %s: %s (root without the others).", field("CapEff"), strings.Join(capNames(field("CapEff")), ", "))
		seccomp := map[string]string{"0": "no seccomp filter", "1": "strict seccomp", "2": "a seccomp filter"}[field("Seccomp")]
		say("no_new_privs %s; %s.", field("NoNewPrivs"), seccomp)
	}
	return out
}

// explainCgroup reads the limits the kernel enforces on the container's
// cgroups, from the files of its own groups (v2: one; v1: one per
// controller).
func (ct *Container) explainCgroup(pid int) []string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return nil
	}
	paths := map[string]string{} // controller ("" for v2) -> path
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 {
			continue
		}
		for _, ctl := range strings.Split(f[1], ",") {
			paths[ctl] = f[2]
		}
	}
	var files []string // absolute paths of limit files
	if ct.rt.Mode == cgroup.V2 {
		dir := filepath.Join(cgroup.Root, paths[""])
		for _, f := range []string{"memory.max", "memory.swap.max", "cpu.max", "pids.max"} {
			files = append(files, filepath.Join(dir, f))
		}
	} else {
		for _, f := range []struct{ ctl, file string }{{"memory", "memory.limit_in_bytes"}, {"memory", "memory.memsw.limit_in_bytes"},
			{"cpu", "cpu.cfs_quota_us"}, {"cpu", "cpu.cfs_period_us"}, {"pids", "pids.max"}} {
			if p, ok := paths[f.ctl]; ok {
				files = append(files, filepath.Join(cgroup.Root, f.ctl, p, f.file))
			}
		}
	}
	out := []string{fmt.Sprintf("Its cgroups (%s) are %s (vmm asked for %s).", ct.rt.Mode, strings.ReplaceAll(strings.TrimSpace(string(b)), "\n", "; "), ct.cfg.Group)}
	for _, f := range files {
		if v, err := os.ReadFile(f); err == nil {
			out = append(out, fmt.Sprintf("The kernel enforces %s = %s.", f, strings.TrimSpace(string(v))))
		}
	}
	return out
}

// capNames names the capabilities set in a CapEff hex mask.
func capNames(hex string) []string {
	v, err := strconv.ParseUint(hex, 16, 64)
	if err != nil {
		return []string{hex}
	}
	names := []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
		"CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
		"CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
		"CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",
		"CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
		"CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE"}
	var out []string
	for i := range 64 {
		if v&(1<<i) == 0 {
			continue
		}
		if i < len(names) {
			out = append(out, names[i])
		} else {
			out = append(out, fmt.Sprintf("cap %d", i))
		}
	}
	if len(out) == 0 {
		return []string{"none"}
	}
	return out
}
