package kvm

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

// The request numbers below are the values <linux/kvm.h> expands to on x86-64.
func TestRequestNumbers(t *testing.T) {
	for name, c := range map[string]struct{ got, want uintptr }{
		"KVM_RUN":                    {reqRun, 0xAE80},
		"KVM_SET_USER_MEMORY_REGION": {reqSetUserMemoryRegion, 0x4020AE46},
		"KVM_GET_REGS":               {reqGetRegs, 0x8090AE81},
		"KVM_SET_REGS":               {reqSetRegs, 0x4090AE82},
		"KVM_GET_SREGS":              {reqGetSregs, 0x8138AE83},
		"KVM_SET_SREGS":              {reqSetSregs, 0x4138AE84},
		"KVM_GET_SUPPORTED_CPUID":    {reqGetSupportedCPUID, 0xC008AE05},
		"KVM_SET_CPUID2":             {reqSetCPUID2, 0x4008AE90},
		"KVM_CREATE_PIT2":            {reqCreatePIT2, 0x4040AE77},
		"KVM_IOEVENTFD":              {reqIOEventFD, 0x4040AE79},
		"KVM_IRQFD":                  {reqIRQFD, 0x4020AE76},
		"KVM_GET_LAPIC":              {reqGetLAPIC, 0x8400AE8E},
		"KVM_GET_FPU":                {reqGetFPU, 0x81A0AE8C},
		"KVM_SET_MSRS":               {reqSetMSRs, 0x4008AE89},
		"KVM_IRQ_LINE":               {reqIRQLine, 0x4008AE61},
		"KVM_SIGNAL_MSI":             {reqSignalMSI, 0x4020AEA5},
		"KVM_GET_XSAVE":              {reqGetXSave, 0x9000AEA4},
		"KVM_SET_XSAVE":              {reqSetXSave, 0x5000AEA5},
		"KVM_GET_XCRS":               {reqGetXCRs, 0x8188AEA6},
		"KVM_GET_VCPU_EVENTS":        {reqGetVCPUEvents, 0x8040AE9F},
		"KVM_SET_VCPU_EVENTS":        {reqSetVCPUEvents, 0x4040AEA0},
		"KVM_GET_MP_STATE":           {reqGetMPState, 0x8004AE98},
		"KVM_GET_DEBUGREGS":          {reqGetDebugRegs, 0x8080AEA1},
		"KVM_GET_IRQCHIP":            {reqGetIRQChip, 0xC208AE62},
		"KVM_SET_IRQCHIP":            {reqSetIRQChip, 0x8208AE63},
		"KVM_GET_PIT2":               {reqGetPIT2, 0x8070AE9F},
		"KVM_SET_PIT2":               {reqSetPIT2, 0x4070AEA0},
		"KVM_GET_CLOCK":              {reqGetClock, 0x8030AE7C},
		"KVM_SET_CLOCK":              {reqSetClock, 0x4030AE7B},
		"KVM_KVMCLOCK_CTRL":          {reqKVMClockCtrl, 0xAEAD},
	} {
		if c.got != c.want {
			t.Errorf("%s = %#x, want %#x", name, c.got, c.want)
		}
	}
}

// binary.Size counts explicit padding the way the C layout does.
func TestStructSizes(t *testing.T) {
	for name, c := range map[string]struct{ got, want int }{
		"kvm_regs":        {binary.Size(Regs{}), sizeRegs},
		"kvm_sregs":       {binary.Size(Sregs{}), sizeSregs},
		"kvm_fpu":         {binary.Size(FPU{}), sizeFPU},
		"kvm_cpuid_entry": {binary.Size(CPUIDEntry{}), sizeCPUIDEntry},
		"kvm_ioeventfd":   {binary.Size(ioEventFD{}), sizeIOEventFD},
	} {
		if c.got != c.want {
			t.Errorf("%s: %d bytes, want %d", name, c.got, c.want)
		}
	}
}

func TestCPUIDRoundTrip(t *testing.T) {
	in := []CPUIDEntry{{Function: 1, EAX: 0x806f8, ECX: 1 << 31}, {Function: 0xb, Index: 1, Flags: CPUIDFlagSignificantIndex, EBX: 2}}
	out, err := decodeCPUID(encodeCPUID(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 || out[0] != in[0] || out[1] != in[1] {
		t.Fatalf("round trip: %+v", out)
	}
	bad := encodeCPUID(in)
	binary.LittleEndian.PutUint32(bad, 3)
	if _, err := decodeCPUID(bad); err == nil {
		t.Error("count past the buffer accepted")
	}
}

func TestMSRRoundTrip(t *testing.T) {
	in := []MSREntry{{Index: 0x174, Data: 0x10}, {Index: 0xc0000080, Data: 0x500}}
	out, err := decodeMSRs(encodeMSRs(in), 2)
	if err != nil || len(out) != 2 || out[0] != in[0] || out[1] != in[1] {
		t.Fatalf("round trip: %+v %v", out, err)
	}
	if _, err := decodeMSRs(encodeMSRs(in), 3); err == nil {
		t.Error("count past the buffer accepted")
	}
}

func TestOpenMissingDevice(t *testing.T) {
	_, err := Open(t.TempDir() + "/kvm")
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
	for _, want := range []string{"no KVM", "make e2e"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestOpenNotKVM(t *testing.T) {
	// /dev/null opens but is not KVM: the API-version ioctl fails cleanly.
	if _, err := Open("/dev/null"); err == nil {
		t.Fatal("Open(/dev/null) succeeded")
	}
}
