package lab

import (
	"reflect"
	"strings"
	"testing"
)

const stallEvents = `alive
begin e2e.test
run e2e.test TestHangs
stall e2e.test TestHangs seconds=900 exit=2
end e2e.test exit=2`

func TestStallSummary(t *testing.T) {
	evs := events(t, stallEvents)
	evs[3].Lines = []string{"pid 300: /lab/vmm boot --kernel /lab/bzImage", "  tid 305 D wchan=kvm_vcpu_block",
		"in the test binary's goroutines: /work/main/e2e/boot_lab_test.go:88"}
	want := append([]string{"e2e.test: silent for 900s while TestHangs ran; stopped, exit status 2"}, evs[3].Lines...)
	if got := StallSummary(evs); !reflect.DeepEqual(got, want) {
		t.Errorf("StallSummary:\n got %q\nwant %q", got, want)
	}
	if got := StallSummary(events(t, "run a.test TestA\npass a.test TestA")); got != nil {
		t.Errorf("a run with no stall: %q", got)
	}
}

func TestStalledBootIsAnOuterFailure(t *testing.T) {
	b := Boot{Events: events(t, stallEvents), Stopped: &StallError{Binary: "e2e.test", Test: "TestHangs", Silent: 900}}
	if !b.Stalled() || b.Lockup() || b.Hung() {
		t.Fatalf("Stalled %v Lockup %v Hung %v", b.Stalled(), b.Lockup(), b.Hung())
	}
	if f := b.OuterFailure(); !strings.Contains(f, "while TestHangs ran") {
		t.Errorf("OuterFailure %q: a stalled boot is booted again, saying which test hung", f)
	}
}
