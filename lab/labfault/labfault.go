// Package labfault is the one table of the nested lab's known faults:
// the ways a vmm run fails when the emulated CPU under the lab, not vmm,
// is at fault. The lab's tests run such a run again; a count in the bench
// can go on past one. A fault is recognised from the run's typed result
// (its reason, cause and vCPU state: package runresult), never from
// vmm's messages.
package labfault

import "github.com/vmmlab/vmm/runresult"

// Fault is one known fault.
type Fault struct {
	Name string // short, for logs and reports
	Why  string // what is known of it, for the log of a run it excused
	// NeedsDeliveryTrace: the result alone does not prove it; the outer
	// kernel's KVM trace must show the CPU delivering an event at the
	// fault (the lab's tests read that trace).
	NeedsDeliveryTrace bool
	matches            func(runresult.Result) bool
}

// Names of the known faults.
const (
	DeliveryTripleFault = "delivery-triple-fault"
	CR3OutsideRAM       = "cr3-outside-ram"
)

// Table lists the known faults.
func Table() []Fault {
	return []Fault{
		{
			Name: DeliveryTripleFault,
			Why: "the guest triple-faulted while KVM delivered an event to it: the nested lab's known fault, which QEMU's " +
				"guests show too (about one boot in 40 with 20 at once)",
			NeedsDeliveryTrace: true,
			matches:            func(r runresult.Result) bool { return r.Cause == runresult.CauseTripleFault },
		},
		{
			Name: CR3OutsideRAM,
			Why: "a vCPU was stuck with CR3 outside guest RAM: vmm sets CR3 once, at boot, and never writes guest page " +
				"tables; the saved state seen in CI was the outer host's own at a VMRUN, which only the emulated CPU writes",
			matches: func(r runresult.Result) bool {
				for _, v := range r.VCPUs {
					if v.TopTableOutsideRAM {
						return true
					}
				}
				return false
			},
		},
	}
}

// Classify names the known fault result r shows, if any.
func Classify(r runresult.Result) (Fault, bool) {
	for _, f := range Table() {
		if f.matches(r) {
			return f, true
		}
	}
	return Fault{}, false
}
