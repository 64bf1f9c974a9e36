package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/vmmlab/vmm/internal/kvmtest"
)

func TestKVMInfo(t *testing.T) {
	kvmtest.Open(t)
	var out bytes.Buffer
	if err := kvmInfo("/dev/kvm", &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"api version   12", "irqchip       1", "cpuid leaves"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("kvm-info output lacks %q:\n%s", want, out.String())
		}
	}
}
