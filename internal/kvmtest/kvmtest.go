// Package kvmtest gates tests that need real KVM. Outside the lab such a
// test skips with a message that names `make e2e`; inside the lab (which
// sets VMM_LAB=1) a test that would skip fails instead, so the lab can never
// report a skipped test as a pass.
package kvmtest

import (
	"os"
	"testing"

	"github.com/vmmlab/vmm/kvm"
)

// LabEnv is the environment variable the lab sets to 1 in its guest.
const LabEnv = "VMM_LAB"

// InLab reports whether the test runs inside the nested-KVM lab.
func InLab() bool { return os.Getenv(LabEnv) == "1" }

// Unavailable skips t (outside the lab) or fails it (inside) because a
// requirement is missing.
func Unavailable(t testing.TB, why string) {
	t.Helper()
	if InLab() {
		t.Fatalf("inside the lab, but %s", why)
	}
	t.Skipf("skipped: %s; run `make e2e` to run this test in the nested-KVM lab", why)
}

// Open opens /dev/kvm for t and closes it when t ends.
func Open(t testing.TB) *kvm.System {
	t.Helper()
	sys, err := kvm.Open("")
	if err != nil {
		Unavailable(t, "needs /dev/kvm: "+err.Error())
	}
	t.Cleanup(func() { sys.Close() })
	return sys
}

// File returns the path in environment variable name, which the lab sets to
// one of its artefacts (a kernel, an initramfs, the vmm binary).
func File(t testing.TB, name string) string {
	t.Helper()
	p := os.Getenv(name)
	if p == "" {
		Unavailable(t, "needs $"+name)
	}
	if _, err := os.Stat(p); err != nil {
		Unavailable(t, "$"+name+": "+err.Error())
	}
	return p
}

// OpenFDs counts this process's open file descriptors, for leak checks.
func OpenFDs(t testing.TB) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}
