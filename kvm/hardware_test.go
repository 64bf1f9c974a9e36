package kvm

import "testing"

func TestHasVirtualizationFlag(t *testing.T) {
	for _, c := range []struct {
		cpuinfo string
		want    bool
	}{
		{"processor\t: 0\nflags\t\t: fpu vme svm npt\n", true},
		{"processor\t: 0\nflags\t\t: fpu vmx ept\n", true},
		// a cloud VM whose KVM is kvm_pvm: no vmx, no svm
		{"processor\t: 0\nflags\t\t: fpu vme hypervisor avx512f svm_lock\n", false},
		{"vmx flags\t: ept vpid\nflags\t\t: fpu\n", false},
		{"", false},
	} {
		if got := hasVirtualizationFlag([]byte(c.cpuinfo)); got != c.want {
			t.Errorf("%q: %v, want %v", c.cpuinfo, got, c.want)
		}
	}
}
