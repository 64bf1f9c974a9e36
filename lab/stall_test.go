package lab

import (
	"reflect"
	"strings"
	"testing"
)

var stallConsole = []string{
	"=== RUN   TestHangs",
	"LAB-ALIVE uptime=100",
	"LAB-STALL e2e.test silent=900s running=TestHangs",
	"LAB-STALL pid 1: /bin/busybox sh /init",
	"LAB-STALL   tid 1 S wchan=do_wait",
	"LAB-STALL pid 300: /lab/vmm boot --kernel /lab/bzImage",
	"LAB-STALL   tid 300 S wchan=futex_wait_queue",
	"LAB-STALL   tid 305 D wchan=kvm_vcpu_block",
	"LAB-STALL     [<0>] kvm_vcpu_block+0x4f/0x90 [kvm]",
	"SIGQUIT: quit",
	"goroutine 7 [chan receive, 15 minutes]:",
	"github.com/vmmlab/vmm/e2e.waitReady(...)",
	"\t/work/main/e2e/boot_lab_test.go:88 +0x1d",
	"github.com/vmmlab/vmm/e2e.TestHangs(0xc000102000)",
	"\t/work/main/e2e/boot_lab_test.go:40 +0x55",
	"\t/work/main/e2e/boot_lab_test.go:40 +0x55",
	"LAB-STALL-END e2e.test exit=2",
	"LAB-RESULT e2e.test exit=2 start=1 end=1000",
	"\t/work/main/e2e/other_lab_test.go:1 +0x1",
}

func TestStallSummary(t *testing.T) {
	want := []string{
		"LAB-STALL e2e.test silent=900s running=TestHangs",
		"LAB-STALL pid 300: /lab/vmm boot --kernel /lab/bzImage",
		"LAB-STALL   tid 305 D wchan=kvm_vcpu_block",
		"in the test binary's goroutines: /work/main/e2e/boot_lab_test.go:88",
		"in the test binary's goroutines: /work/main/e2e/boot_lab_test.go:40",
		"LAB-STALL-END e2e.test exit=2",
	}
	if got := StallSummary(stallConsole); !reflect.DeepEqual(got, want) {
		t.Errorf("StallSummary:\n got %q\nwant %q", got, want)
	}
	if got := StallSummary([]string{"=== RUN   TestA", "--- PASS: TestA (1.00s)"}); got != nil {
		t.Errorf("a run with no stall: %q", got)
	}
}

func TestStalledBootIsAnOuterFailure(t *testing.T) {
	b := Boot{Lines: stallConsole, Stopped: &StallError{Report: "e2e.test silent=900s running=TestHangs"}}
	if !b.Stalled() || b.Lockup() || b.Hung() {
		t.Fatalf("Stalled %v Lockup %v Hung %v", b.Stalled(), b.Lockup(), b.Hung())
	}
	if f := b.OuterFailure(); !strings.Contains(f, "running=TestHangs") {
		t.Errorf("OuterFailure %q: a stalled boot is booted again, saying which test hung", f)
	}
}
