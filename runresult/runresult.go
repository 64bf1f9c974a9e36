// Package runresult owns what vmm prints on stderr with --json when a run
// ends: one type that vmm writes and that the bench, the lab's tests and
// vmm's other programs read, so that no program keeps a copy of it or
// reads vmm's human messages. Its JSON names are spelled out and a golden
// file in testdata holds them: a Go rename cannot change what vmm prints.
package runresult

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// The reasons a run ends (Result.Reason).
const (
	PowerOff              = "poweroff"    // the guest powered off
	Reset                 = "reset"       // the guest rebooted
	Halted                = "halted"      // a vCPU halted with nothing to wake it
	Interrupted           = "interrupted" // the host stopped it (a signal, the escape key, the control API)
	Crashed               = "crashed"     // a triple fault, a failed entry, an internal error, a guest panic
	Failed                = "failed"      // vmm itself failed (an ioctl error)
	SnapshotMemoryChanged = "snapshot-memory-changed"
	Snapshot              = "snapshot" // --snapshot-on-ready wrote its snapshot (SnapshotTaken)
)

// The causes of a crashed or failed run (Result.Cause).
const (
	CauseTripleFault  = "triple-fault"  // KVM_EXIT_SHUTDOWN: the guest's CPU reset itself
	CauseKVMExit      = "kvm-exit"      // an exit vmm cannot serve (internal error, failed entry, ...)
	CauseSystemEvent  = "system-event"  // a KVM system event other than shutdown and reset (a crash)
	CauseKVMRunFailed = "kvm-run-error" // KVM_RUN itself failed
)

// Result is how a vmm boot or restore ended.
type Result struct {
	Reason    string             `json:"reason"`
	Cause     string             `json:"cause,omitempty"` // what stopped a crashed or failed run
	Detail    string             `json:"detail"`          // one line, for people
	ExitCode  int                `json:"exit_code"`
	StartNS   int64              `json:"start_unix_ns"` // when vmm started (its clock for the _ms fields)
	SetupMS   float64            `json:"setup_ms"`
	FirstRun  float64            `json:"first_run_ms"`
	InputsMS  float64            `json:"inputs_ms"` // kernel and initramfs read, flags checked
	Steps     map[string]float64 `json:"setup_steps_ms"`
	Exits     map[string]uint64  `json:"exits"` // exits that reached vmm, by cause
	RunMS     float64            `json:"run_ms"`
	Booted    bool               `json:"booted"`
	BootMS    float64            `json:"boot_ms,omitempty"`
	Restored  bool               `json:"restored,omitempty"` // from a snapshot: "booted" is false, the guest booted before it
	Unhandled uint64             `json:"unhandled_port_accesses"`
	Status    *int               `json:"guest_status,omitempty"`
	Registers string             `json:"registers,omitempty"` // for people; VCPUs for programs
	VCPUs     []VCPU             `json:"vcpus,omitempty"`
	Dropped   uint64             `json:"console_dropped_bytes,omitempty"` // output a stalled stdout did not take
	Failures  []string           `json:"device_failures,omitempty"`       // devices that gave up, with why
	// Devices is what counting devices did (balloon, rng, vsock).
	Devices map[string]map[string]uint64 `json:"devices,omitempty"`
	// RunFaults are the host page faults vmm took while the guest ran
	// (guest RAM mapped on first touch, among others).
	RunFaults   int64       `json:"run_host_faults"`
	WorkingSet  *WorkingSet `json:"working_set,omitempty"`  // a restore's
	GoMemory    GoMemory    `json:"go_memory_kib"`          // where vmm's own anonymous memory went
	HostProblem string      `json:"host_problem,omitempty"` // why this host's KVM may not run the guest
	*Trace                  // --trace-exits
}

// VCPU is a vCPU's state when the run ended: the vCPU that crashed, or
// every vCPU when the host stopped the run.
type VCPU struct {
	ID  int    `json:"id"`
	RIP uint64 `json:"rip"`
	CR3 uint64 `json:"cr3"`
	// TopTableOutsideRAM: the top-level page table CR3 names lies outside
	// guest RAM, so the walk of RIP through the guest's page tables
	// failed at its first step (long mode only).
	TopTableOutsideRAM bool `json:"top_table_outside_ram,omitempty"`
}

// WorkingSet is what a restore did with its snapshot's working set (vmm
// restore --working-set).
type WorkingSet struct {
	Mode       string  `json:"mode"`   // auto, on, off, record; or why it was off
	Ranges     int     `json:"ranges"` // prefetched
	Pages      uint64  `json:"pages"`  // prefetched
	PrefetchMS float64 `json:"prefetch_ms"`
	Recorded   uint64  `json:"recorded_pages,omitempty"` // written (record)
	Problem    string  `json:"problem,omitempty"`        // why it was not used or written; the restore went on
}

// GoMemory is the Go runtime's account of vmm's own memory at the end, in
// KiB: what holds the VMM's overhead beyond its binary.
type GoMemory struct {
	HeapInUse    uint64 `json:"heap_in_use"`
	HeapRetained uint64 `json:"heap_free_retained"` // free heap not yet given back to the host
	Stacks       uint64 `json:"stacks"`
	Runtime      uint64 `json:"runtime"` // spans, caches, GC metadata, profiling buckets, other
	Sys          uint64 `json:"sys"`     // all the runtime has mapped
}

// Trace is what --trace-exits adds.
type Trace struct {
	Exits []ExitStat `json:"exit_stats"`
	KVM   *KVMStats  `json:"kvm_stats,omitempty"`
	// CoalescedWrites are port writes KVM queued instead of exiting.
	CoalescedWrites uint64 `json:"coalesced_writes"`
}

// ExitStat is one cause of exits to vmm.
type ExitStat struct {
	Cause   string  `json:"cause"`
	Device  string  `json:"device,omitempty"`
	Count   uint64  `json:"count"`
	TotalMS float64 `json:"total_ms"`
}

// KVMStats are KVM's own counters of the VM and of its vCPUs (summed).
type KVMStats struct {
	VM    map[string]uint64 `json:"vm"`
	VCPUs map[string]uint64 `json:"vcpus"`
}

// SnapshotTaken is what --snapshot-on-ready prints once its snapshot is
// on disk (Reason is Snapshot).
type SnapshotTaken struct {
	Reason      string  `json:"reason"`
	Dir         string  `json:"dir"`
	PauseMS     float64 `json:"pause_ms"`
	StateMS     float64 `json:"state_ms"`
	MemoryMS    float64 `json:"memory_ms"`
	TotalMS     float64 `json:"total_ms"`
	MemoryBytes int64   `json:"memory_bytes"`
}

// ErrNoResult is a stderr whose last line is no result (vmm failed
// before it ran the machine, or ran without --json).
var ErrNoResult = errors.New("no --json result on vmm's last line")

// Parse reads the result from vmm's stderr: its last non-empty line.
func Parse(stderr []byte) (Result, error) {
	var r Result
	line := lastLine(stderr)
	if !bytes.HasPrefix(line, []byte("{")) {
		return r, ErrNoResult
	}
	if err := json.Unmarshal(line, &r); err != nil {
		return r, fmt.Errorf("%w: %v", ErrNoResult, err)
	}
	return r, nil
}

// Find returns every result in out, the captured output of one or more
// vmm runs with --json or --result-file (and whatever else was printed
// around them): each JSON object that starts with its "reason" field
// and decodes as a Result.
func Find(out []byte) []Result {
	var rs []Result
	mark := []byte(`{"reason":`)
	for i := bytes.Index(out, mark); i >= 0; {
		var r Result
		if json.NewDecoder(bytes.NewReader(out[i:])).Decode(&r) == nil && r.Reason != "" {
			rs = append(rs, r)
		}
		next := bytes.Index(out[i+1:], mark)
		if next < 0 {
			break
		}
		i += 1 + next
	}
	return rs
}

func lastLine(b []byte) []byte {
	b = bytes.TrimRight(b, "\r\n\t ")
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		b = b[i+1:]
	}
	return bytes.TrimSpace(b)
}

// String is the result as vmm prints it.
func (r Result) String() string {
	b, _ := json.Marshal(r)
	return string(b)
}
