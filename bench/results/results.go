// Package results owns results.json: the types a bench run fills in
// (targets, start samples, memory samples, density runs, footprints),
// its schema version, and lookups a report needs. It measures nothing
// and renders nothing, so that the runner and the report meet here only.
package results

import (
	"encoding/json"
	"fmt"
	"os"
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
	Apps        []AppRun          `json:"apps,omitempty"`
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

// Kind groups targets: a VM, a container, or a plain process.
type Kind string

// The kinds of target.
const (
	KindVM        Kind = "vm"
	KindContainer Kind = "container"
	KindProcess   Kind = "process"
)

// The targets' names, as flags, results.json and the report use them.
const (
	TargetVM        = "vm"         // vmm, the minimal kernel, virtio-mmio
	TargetVMNoTHP   = "vm-nothp"   // vm without transparent huge pages
	TargetVMKSM     = "vm-ksm"     // vm with guest RAM offered to the host's same-page merging
	TargetVMLean    = "vm-lean"    // vm-ksm with the balloon's free page reporting
	TargetVMPmem    = "vm-pmem"    // vm with its root through virtio-pmem, mounted with DAX
	TargetVMStock   = "vm-stock"   // vmm, the Debian kernel, virtio-pci
	TargetVMRestore = "vm-restore" // vm restored from a snapshot
	// TargetVMRestoreLazy is vm-restore without its working set.
	TargetVMRestoreLazy = "vm-restore-lazy"
	TargetQEMU          = "qemu"       // QEMU's microvm, the minimal kernel
	TargetQEMUStock     = "qemu-stock" // QEMU's microvm, the Debian kernel
	TargetCrun          = "crun"
	TargetRunc          = "runc"
	TargetRunsc         = "runsc"
	TargetDocker        = "docker"
	TargetProcess       = "process" // the workload as a plain host process
)

// Unavailable records a target that could not run, and why.
type Unavailable struct {
	Target string `json:"target"`
	Reason string `json:"reason"`
}
