// Package container runs workloads under real OCI runtimes (crun, runc,
// runsc), driven as the binaries users run: it writes a bundle from
// runtime-spec types over a shared read-only rootfs, goes through create,
// start, kill and delete, waits for the workload's marker line, and reads
// what the bench needs (time to the marker, cgroup memory, OOM kills).
// Every container it creates is deleted again, with its cgroup.
package container

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"

	"github.com/vmmlab/vmm/cgroup"
)

// Runtimes lists the runtimes vmm can drive, in order of preference.
func Runtimes() []string { return []string{"crun", "runc", "runsc"} }

// Runtime is one OCI runtime binary.
type Runtime struct {
	Name    string
	Path    string
	Version string // first line of `NAME --version`
	Mode    cgroup.Mode
	// Root is the runtime's state directory (--root); "" is its default.
	Root string
	// GlobalArgs go before every subcommand (e.g. runsc's --platform).
	GlobalArgs []string
	// NoPivot makes the runtime enter the rootfs without pivot_root
	// (needed when / is an initramfs, as in the lab's outer guest).
	NoPivot bool
	// ns, when set, runs the runtime in a private mount namespace where
	// the host's v2 hierarchy is hidden (crun on hybrid hosts).
	ns *mountNS
	// workloads are the processes this runtime's Containers wait for.
	workloads waited
}

// CheckName fails unless name is one of Runtimes.
func CheckName(name string) error {
	if !slices.Contains(Runtimes(), name) {
		return fmt.Errorf("runtime %q: want one of %s", name, strings.Join(Runtimes(), ", "))
	}
	return nil
}

// Find locates runtime name on PATH and prepares to run it on a host
// whose cgroups are in mode. Close it when done.
func Find(name string, mode cgroup.Mode) (*Runtime, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	path, err := exec.LookPath(name)
	if err != nil {
		return nil, fmt.Errorf("runtime %s is not installed (apt-get install %s): %w", name, name, err)
	}
	out, err := exec.Command(path, "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("%s --version: %w", path, err)
	}
	version, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	r := &Runtime{Name: name, Path: path, Version: version, Mode: mode}
	// pivot_root cannot leave the initial rootfs: on a host that runs
	// from its initramfs (the lab's outer guest) the runtime must enter
	// the container's root without it. runsc has no such option.
	r.NoPivot = name != "runsc" && rootIsInitramfs("/proc/self/mountinfo")
	if name == "runsc" {
		// runsc's sandbox stays in the host's network namespace, where it
		// refuses to run a network stack; a container's namespace holds
		// only a loopback anyway, which gVisor's own stack gives it.
		r.GlobalArgs = []string{"--network=none"}
	}
	if name == "crun" && mode == cgroup.Hybrid {
		// crun refuses a hybrid layout whose v2 hierarchy has
		// controllers; with that hierarchy covered it runs in v1 mode.
		if r.ns, err = newMountNS(cgroup.Root + "/unified"); err != nil {
			return nil, fmt.Errorf("crun on a hybrid cgroup host: %w", err)
		}
	}
	return r, nil
}

// Close releases the runtime's helper thread, if any.
func (r *Runtime) Close() {
	if r.ns != nil {
		r.ns.close()
		r.ns = nil // Close may be called again
	}
}

// InMountNS runs f where the runtime sees mounts: in its private mount
// namespace when it has one (a mount made elsewhere later is not seen
// there), else in the caller's.
func (r *Runtime) InMountNS(f func() error) error {
	if r.ns != nil {
		return r.ns.do(f)
	}
	return f()
}

// Workaround says how vmm adapts the runtime to this host, or "".
func (r *Runtime) Workaround() string {
	var w []string
	if r.ns != nil {
		w = append(w, "runs in a private mount namespace that hides the v2 hierarchy (crun does not support hybrid cgroups)")
	}
	if r.NoPivot {
		w = append(w, "enters the root without pivot_root (the host runs from its initramfs)")
	}
	return strings.Join(w, "; ")
}

// rootIsInitramfs reports whether / is the kernel's initial rootfs (an
// initramfs the host never switched away from), from a mountinfo file.
func rootIsInitramfs(mountinfo string) bool {
	b, err := os.ReadFile(mountinfo)
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 7 || f[4] != "/" {
			continue
		}
		for i := 6; i+1 < len(f); i++ {
			if f[i] == "-" {
				return f[i+1] == "rootfs"
			}
		}
	}
	return false
}

// command prepares `runtime [--root R] args...`.
func (r *Runtime) command(ctx context.Context, args ...string) *exec.Cmd {
	if r.Root != "" {
		args = append([]string{"--root", r.Root}, args...)
	}
	args = append(append([]string(nil), r.GlobalArgs...), args...)
	return exec.CommandContext(ctx, r.Path, args...)
}

// start starts cmd where the runtime must run.
func (r *Runtime) start(cmd *exec.Cmd) error {
	if r.ns != nil {
		return r.ns.do(cmd.Start)
	}
	return cmd.Start()
}

// run runs `runtime args...` to completion; the error carries its output.
func (r *Runtime) run(ctx context.Context, args ...string) error {
	cmd := r.command(ctx, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := r.start(cmd); err != nil {
		return fmt.Errorf("%s %s: %w", r.Name, args[0], err)
	}
	if err := cmd.Wait(); err != nil {
		return commandError(ctx, r.Name+" "+strings.Join(args, " "), err, out.String())
	}
	return nil
}

// commandError says why a runtime command failed, with its output. When
// ctx ended first, the command died of it (SIGKILL from
// exec.CommandContext), and the error wraps ctx's error: the caller sees
// the cancellation or deadline it caused, not only the runtime's death.
func commandError(ctx context.Context, what string, err error, out string) error {
	out = strings.TrimSpace(out)
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("%s: %w (the runtime was stopped: %v: %s)", what, cerr, err, out)
	}
	return fmt.Errorf("%s: %w: %s", what, err, out)
}
