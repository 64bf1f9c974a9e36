package e2e

import "testing"

// Lines as the lab's faults instance printed them (TestTwentyVMsAtOnce,
// 2026-12-02), and one made up for each other kind.
func TestTripleFaultKind(t *testing.T) {
	const (
		delivery = "vmm-336     (    180) [000] .....    74.423232: kvm_exit: vcpu 0 reason shutdown rip 0xffffffff8102f041 info1 0x0000000000000000 info2 0x0000000000000000 intr_info 0x80000b0e error_code 0x00000010"
		cpu      = "vmm-336     (    180) [000] .....    74.423232: kvm_exit: vcpu 0 reason shutdown rip 0xffffffff8102f041 info1 0x0000000000000000 info2 0x0000000000000000 intr_info 0x00000000 error_code 0x00000000"
		exit     = "vmm-336     (    180) [000] .....    74.423599: kvm_userspace_exit: reason KVM_EXIT_SHUTDOWN (8)"
		injected = "vmm-336     (    180) [000] .....    74.400000: kvm_inj_exception: #DF (0x0)"
	)
	for _, c := range []struct{ lines, want string }{
		{delivery + "\n" + exit, "delivery"},
		{cpu + "\n" + exit, "cpu"},
		{exit + "\n" + cpu, "cpu"},
		{injected + "\n" + exit, "kvm"},
		{injected, ""},
		{"", ""},
	} {
		if got := tripleFaultKind(c.lines); got != c.want {
			t.Errorf("tripleFaultKind(%q) = %q, want %q", c.lines, got, c.want)
		}
	}
}
