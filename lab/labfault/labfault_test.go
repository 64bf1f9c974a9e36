package labfault

import (
	"testing"

	"github.com/vmmlab/vmm/runresult"
)

func TestClassify(t *testing.T) {
	for _, c := range []struct {
		name string
		r    runresult.Result
		want string
	}{
		{"a triple fault", runresult.Result{Reason: runresult.Crashed, Cause: runresult.CauseTripleFault}, DeliveryTripleFault},
		{"stuck with CR3 outside RAM", runresult.Result{Reason: runresult.Interrupted,
			VCPUs: []runresult.VCPU{{ID: 0}, {ID: 1, CR3: 0xbe1b6000, TopTableOutsideRAM: true}}}, CR3OutsideRAM},
		{"stopped, page tables fine", runresult.Result{Reason: runresult.Interrupted, VCPUs: []runresult.VCPU{{ID: 0, CR3: 0x1000}}}, ""},
		{"another crash", runresult.Result{Reason: runresult.Crashed, Cause: runresult.CauseKVMExit}, ""},
		{"a clean end", runresult.Result{Reason: runresult.PowerOff}, ""},
		{"no result", runresult.Result{}, ""},
	} {
		f, ok := Classify(c.r)
		if f.Name != c.want || ok != (c.want != "") {
			t.Errorf("%s: %q %v, want %q", c.name, f.Name, ok, c.want)
		}
	}
}

// Every fault says why it is the lab's.
func TestTableExplains(t *testing.T) {
	for _, f := range Table() {
		if f.Name == "" || f.Why == "" || f.matches == nil {
			t.Errorf("fault %+v is incomplete", f)
		}
	}
}
