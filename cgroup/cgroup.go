// Package cgroup reads the host's control groups the way the benchmark
// needs them: which layout the host uses (v1, v1 with a v2 hierarchy
// beside it, or v2), a group's memory use, peak and OOM kills, whether a
// group still exists, and the kernel memory (slab, page tables, stacks)
// that no group is charged for. The one change it makes is Remove: it
// deletes a group vmm's runtime created (and its parents that became
// empty), never a group it did not make.
package cgroup

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/vmmlab/vmm/internal/meminfo"
)

// Root is where the host mounts its control groups.
const Root = "/sys/fs/cgroup"

// Mode is the host's cgroup layout.
type Mode int

// Layouts.
const (
	V1     Mode = iota + 1 // v1 controllers only
	Hybrid                 // v1 controllers, plus a v2 hierarchy at unified/
	V2                     // the unified hierarchy only
)

func (m Mode) String() string {
	switch m {
	case V1:
		return "v1"
	case Hybrid:
		return "v1 hybrid (v2 at unified/)"
	case V2:
		return "v2"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// DetectMode looks at the file systems mounted at root (normally Root).
func DetectMode(root string) (Mode, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(root, &st); err != nil {
		return 0, fmt.Errorf("cgroups: %w", err)
	}
	switch st.Type {
	case unix.CGROUP2_SUPER_MAGIC:
		return V2, nil
	case unix.TMPFS_MAGIC:
		if unix.Statfs(filepath.Join(root, "unified"), &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
			return Hybrid, nil
		}
		return V1, nil
	}
	return 0, fmt.Errorf("cgroups: %s is neither cgroup2 nor a tmpfs of v1 hierarchies (type %#x)", root, st.Type)
}

// Memory is what a group's memory controller reports.
type Memory struct {
	Current  uint64 // bytes charged now
	Peak     uint64 // highest charge seen (0 where the kernel does not say)
	OOMKills uint64 // processes the OOM killer killed in the group
}

// ReadMemory reads group (an absolute cgroups path such as /vmm/c1).
func ReadMemory(root string, mode Mode, group string) (Memory, error) {
	var m Memory
	var err error
	if mode == V2 {
		dir := filepath.Join(root, group)
		if m.Current, err = readUint(filepath.Join(dir, "memory.current")); err != nil {
			return m, err
		}
		m.Peak, _ = readUint(filepath.Join(dir, "memory.peak")) // Linux 5.19 and later
		m.OOMKills, err = readKey(filepath.Join(dir, "memory.events"), "oom_kill")
		return m, err
	}
	dir := filepath.Join(root, "memory", group)
	if m.Current, err = readUint(filepath.Join(dir, "memory.usage_in_bytes")); err != nil {
		return m, err
	}
	if m.Peak, err = readUint(filepath.Join(dir, "memory.max_usage_in_bytes")); err != nil {
		return m, err
	}
	m.OOMKills, err = readKey(filepath.Join(dir, "memory.oom_control"), "oom_kill")
	return m, err
}

// Leftovers lists the directories of group that still exist (in any v1
// controller, or in the v2 hierarchy).
func Leftovers(root string, mode Mode, group string) []string {
	var dirs []string
	if mode == V2 {
		dirs = []string{filepath.Join(root, group)}
	} else {
		entries, _ := os.ReadDir(root)
		for _, e := range entries {
			dirs = append(dirs, filepath.Join(root, e.Name(), group))
		}
	}
	var left []string
	for _, d := range dirs {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			left = append(left, d)
		}
	}
	return left
}

func readUint(p string) (uint64, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return 0, fmt.Errorf("cgroups: %w", err)
	}
	v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("cgroups: %s: %w", p, err)
	}
	return v, nil
}

// readKey reads "key value" from a flat-keyed file; a missing key is 0.
func readKey(p, key string) (uint64, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return 0, fmt.Errorf("cgroups: %w", err)
	}
	v, ok, err := parseKey(b, key)
	if err != nil {
		return 0, fmt.Errorf("cgroups: %s: %w", p, err)
	}
	if !ok {
		return 0, nil
	}
	return v, nil
}

func parseKey(b []byte, key string) (uint64, bool, error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && f[0] == key {
			v, err := strconv.ParseUint(f[1], 10, 64)
			return v, true, err
		}
	}
	return 0, false, nil
}

// KernelMemory is host kernel memory no cgroup is charged for, from
// /proc/meminfo, in bytes.
type KernelMemory struct {
	Slab, PageTables, KernelStack int64
}

// Sub returns k - o, field by field.
func (k KernelMemory) Sub(o KernelMemory) KernelMemory {
	return KernelMemory{k.Slab - o.Slab, k.PageTables - o.PageTables, k.KernelStack - o.KernelStack}
}

// ReadKernelMemory reads the kernel's own memory from /proc/meminfo (or
// another file in its format).
func ReadKernelMemory(path string) (KernelMemory, error) {
	info, err := meminfo.Read(path)
	if err != nil {
		return KernelMemory{}, err
	}
	v, err := info.Need("Slab", "PageTables", "KernelStack")
	if err != nil {
		return KernelMemory{}, fmt.Errorf("%s: %w", path, err)
	}
	return KernelMemory{Slab: v[0], PageTables: v[1], KernelStack: v[2]}, nil
}

// Remove deletes group's directories (which must hold no processes) and
// then each parent below the root that has become empty, in every
// controller; parents still in use by other groups stay.
func Remove(root string, mode Mode, group string) error {
	var errs []error
	for _, dir := range Leftovers(root, mode, group) {
		if err := os.Remove(dir); err != nil {
			errs = append(errs, fmt.Errorf("cgroup %s: %w", dir, err))
		}
	}
	for parent := filepath.Dir(group); parent != "/" && parent != "."; parent = filepath.Dir(parent) {
		for _, dir := range Leftovers(root, mode, parent) {
			os.Remove(dir) // fails (EBUSY) while another group lives below it: fine
		}
	}
	return errors.Join(errs...)
}
