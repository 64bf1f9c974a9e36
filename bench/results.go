package bench

import (
	"encoding/json"
	"fmt"
	"github.com/vmmlab/vmm/bench/workload"
	"github.com/vmmlab/vmm/container"
	"os"
	"runtime"
	"strings"
	"time"
)

// SchemaVersion is the version of results.json's layout; readers refuse
// other versions.
const SchemaVersion = 1

// Results is everything one bench run measured: results.json.
type Results struct {
	Schema      int               `json:"schema"`
	Started     time.Time         `json:"started"`
	Finished    time.Time         `json:"finished"`
	Interrupted bool              `json:"interrupted,omitempty"`
	Env         Environment       `json:"environment"`
	Flags       map[string]string `json:"flags"`
	Targets     []TargetInfo      `json:"targets"`
	Skipped     []Unavailable     `json:"skipped,omitempty"`
	Workloads   map[string]string `json:"workload_sha256"`
	Start       *StartResults     `json:"start,omitempty"`
	Memory      []MemorySample    `json:"memory,omitempty"`
	Density     []DensityRun      `json:"density,omitempty"`
	Footprint   *Footprint        `json:"footprint,omitempty"`
	Teardown    []string          `json:"teardown_leftovers"` // empty: nothing was left behind
}

// TargetInfo names a target that ran and the software behind it.
type TargetInfo struct {
	Name    string `json:"name"`
	Kind    Kind   `json:"kind"`
	Version string `json:"version"`
}

// Environment describes where the run happened.
type Environment struct {
	Host        string            `json:"host_kernel"`
	CPU         string            `json:"cpu_model"`
	Cores       int               `json:"cores"`
	MemTotal    uint64            `json:"mem_total"`
	Nested      bool              `json:"nested"`
	NestedNote  string            `json:"nested_note,omitempty"`
	KVMModule   string            `json:"kvm_module"`
	THP         string            `json:"thp"`
	VMMRevision string            `json:"vmm_revision"`
	GoVersion   string            `json:"go_version"`
	Kernels     map[string]string `json:"guest_kernels"`
}

// DetectEnvironment reads the host's description; nested is set by the
// caller (the lab says so through the environment).
func DetectEnvironment(a Assets, nested bool) Environment {
	e := Environment{Cores: runtime.NumCPU(), Nested: nested, THP: thpMode(), GoVersion: runtime.Version(),
		VMMRevision: commandVersion(a.VMM, "version"),
		Kernels:     map[string]string{"minimal": kernelVersion(a.MicroKernel), "stock": kernelVersion(a.StockKernel)}}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		e.Host = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				e.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if h, err := ReadHostMemory(); err == nil {
		e.MemTotal = uint64(h.MemTotal)
	}
	for _, m := range []string{"kvm_amd", "kvm_intel"} {
		if _, err := os.Stat("/sys/module/" + m); err == nil {
			e.KVMModule = m
			if b, err := os.ReadFile("/sys/module/kvm/parameters/nx_huge_pages"); err == nil {
				e.KVMModule += ", nx_huge_pages=" + strings.TrimSpace(string(b))
			}
		}
	}
	if e.KVMModule == "" {
		e.KVMModule = "none"
	}
	if nested {
		e.NestedNote = "nested: outer guest under QEMU TCG (software emulation); absolute times are not hardware times, compare ratios"
	}
	return e
}

// HashWorkloads returns the sha256 of each workload program.
func HashWorkloads(a Assets) (map[string]string, error) {
	out := map[string]string{}
	for _, w := range workload.Names() {
		sum, err := container.FileSHA256(a.Workload(w))
		if err != nil {
			return nil, err
		}
		out[w] = sum
	}
	return out, nil
}

// WriteResults writes r as indented JSON to path.
func WriteResults(path string, r *Results) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// ReadResults reads a results.json, refusing other schema versions.
func ReadResults(path string) (*Results, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Results
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: not a results file: %w", path, err)
	}
	if r.Schema != SchemaVersion {
		return nil, fmt.Errorf("%s: schema version %d, this vmm reads %d", path, r.Schema, SchemaVersion)
	}
	return &r, nil
}
