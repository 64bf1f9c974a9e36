package kvm

import (
	"bytes"
	"errors"
	"fmt"
	"os"
)

// ErrNoHardwareVirtualization: /dev/kvm is there, but the CPU offers no
// VMX or SVM. Such a KVM (kvm_pvm, on some cloud VMs) is built for guests
// made for it; an unmodified kernel stops with an internal error or hangs
// in its decompressor, and QEMU cannot set its MSRs.
var ErrNoHardwareVirtualization = errors.New("this CPU offers no hardware virtualization (no vmx or svm flag in /proc/cpuinfo)")

// CheckHardware says whether this host's KVM can run an unmodified
// guest: the CPU must show VMX (Intel) or SVM (AMD). It names the KVM
// module when it is kvm_pvm.
func CheckHardware() error {
	cpuinfo, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return fmt.Errorf("hardware virtualization: %w", err)
	}
	if hasVirtualizationFlag(cpuinfo) {
		return nil
	}
	if pvm := PVMProblem(); pvm != "" {
		return fmt.Errorf("%w; %s", ErrNoHardwareVirtualization, pvm)
	}
	return ErrNoHardwareVirtualization
}

// hasVirtualizationFlag says whether a /proc/cpuinfo flags line lists vmx
// or svm.
func hasVirtualizationFlag(cpuinfo []byte) bool {
	for _, line := range bytes.Split(cpuinfo, []byte("\n")) {
		name, flags, ok := bytes.Cut(line, []byte(":"))
		if !ok || string(bytes.TrimSpace(name)) != "flags" {
			continue
		}
		for _, f := range bytes.Fields(flags) {
			if string(f) == "vmx" || string(f) == "svm" {
				return true
			}
		}
	}
	return false
}

// PVMProblem is a one-line warning when this host's KVM is kvm_pvm (one
// stat, cheap enough for every vmm start), else "".
func PVMProblem() string {
	if _, err := os.Stat("/sys/module/kvm_pvm"); err != nil {
		return ""
	}
	return "this host's KVM is kvm_pvm (no VMX or SVM), which runs only guests built for it"
}
