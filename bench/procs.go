package bench

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vmmlab/vmm/cgroup"
)

// dockerCgroup finds a docker container's memory cgroup directory under
// either driver (cgroupfs: docker/ID; systemd: docker-ID.scope), on v1 or
// v2; "" when none exists.
func dockerCgroup(id string) string {
	if id == "" {
		return ""
	}
	for _, p := range []string{
		"docker/" + id, "memory/docker/" + id,
		"system.slice/docker-" + id + ".scope", "memory/system.slice/docker-" + id + ".scope",
	} {
		dir := filepath.Join(cgroup.Root, p)
		if _, err := os.Stat(filepath.Join(dir, "cgroup.procs")); err == nil {
			return dir
		}
	}
	return ""
}

// cgroupProcs lists the processes in a cgroup directory ("" gives none).
func cgroupProcs(dir string) []int {
	if dir == "" {
		return nil
	}
	return cgroup.Procs(dir)
}

// dockerShims finds the containerd shim serving container id: it belongs
// in the container's memory column (one per running container).
func dockerShims(id string) []int {
	if id == "" {
		return nil
	}
	return findProcs(func(args []string) bool {
		if len(args) == 0 || !strings.Contains(filepath.Base(args[0]), "containerd-shim") {
			return false
		}
		for _, a := range args {
			if a == id {
				return true
			}
		}
		return false
	})
}

// findProcs lists the processes whose command line matches.
func findProcs(match func(args []string) bool) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(b) == 0 {
			continue
		}
		if match(strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")) {
			out = append(out, pid)
		}
	}
	return out
}
