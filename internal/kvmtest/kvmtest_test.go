package kvmtest

import (
	"strings"
	"testing"
)

// fakeTB records what a gated test would do.
type fakeTB struct {
	testing.TB
	skipped, failed string
}

func (f *fakeTB) Helper()                           {}
func (f *fakeTB) Skipf(format string, args ...any)  { f.skipped = format; panic(f) }
func (f *fakeTB) Fatalf(format string, args ...any) { f.failed = format; panic(f) }

func gate(t *testing.T, lab string) *fakeTB {
	t.Setenv(LabEnv, lab)
	f := &fakeTB{}
	func() {
		defer func() { recover() }()
		Unavailable(f, "needs /dev/kvm")
	}()
	return f
}

func TestSkipsOutsideLab(t *testing.T) {
	f := gate(t, "")
	if f.failed != "" || !strings.Contains(f.skipped, "make e2e") {
		t.Fatalf("outside the lab: skipped=%q failed=%q", f.skipped, f.failed)
	}
}

func TestFailsInsideLab(t *testing.T) {
	f := gate(t, "1")
	if f.skipped != "" || f.failed == "" {
		t.Fatalf("inside the lab: skipped=%q failed=%q", f.skipped, f.failed)
	}
}
