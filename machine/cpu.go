package machine

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"strings"

	"github.com/vmmlab/vmm/boot"
	"github.com/vmmlab/vmm/kvm"
	"github.com/vmmlab/vmm/runresult"
)

// CPUID adapts the host's supported CPUID leaves for vCPU id of n: its APIC
// ID, the package's logical CPU count and topology, the hypervisor bit, and
// the TSC-deadline timer when the in-kernel LAPIC emulates one (KVM leaves
// that bit to the VMM). With it the guest needs no LAPIC timer
// calibration against the PIT, which under nested emulation can fail and
// leave the guest without timer ticks. It is a pure function so that the
// guest-visible CPU is testable.
func CPUID(supported []kvm.CPUIDEntry, id, n int, tscDeadline bool) []kvm.CPUIDEntry {
	out := append([]kvm.CPUIDEntry(nil), supported...)
	coreShift := uint32(bits.Len(uint(n - 1)))
	for i := range out {
		e := &out[i]
		switch e.Function {
		case 1:
			e.EBX = e.EBX&0x0000ffff | uint32(n)<<16 | uint32(id)<<24
			e.ECX |= 1 << 31 // running under a hypervisor
			if tscDeadline {
				e.ECX |= 1 << 24
			}
			if n > 1 {
				e.EDX |= 1 << 28 // HTT: more than one logical CPU per package
			}
		case 0xb, 0x1f: // extended topology: one thread per core, n cores
			e.EDX = uint32(id)
			switch e.Index {
			case 0:
				e.EAX, e.EBX, e.ECX = 0, 1, 1<<8
			case 1:
				e.EAX, e.EBX, e.ECX = coreShift, uint32(n), 2<<8|1
			default:
				e.EAX, e.EBX, e.ECX = 0, 0, e.Index
			}
		case 0x80000008:
			e.ECX = e.ECX&^0xff | uint32(n-1) // AMD: number of cores - 1
		case 0x8000001e:
			e.EAX = uint32(id) // AMD: extended APIC ID
			e.EBX &^= 0xff00   // one thread per core
		}
	}
	return out
}

// Registers at the kernel entry point, converted from the boot plan.
func entryRegs(e boot.Entry) kvm.Regs {
	return kvm.Regs{RIP: e.RIP, RSI: e.RSI, RBX: e.RBX, RFLAGS: e.RFLAGS}
}

func segment(s boot.Segment) kvm.Segment {
	b := func(v bool) uint8 {
		if v {
			return 1
		}
		return 0
	}
	return kvm.Segment{Base: s.Base, Limit: s.Limit, Selector: s.Selector, Type: s.Type, DPL: s.DPL,
		Present: b(s.Present), S: b(s.S), L: b(s.L), DB: b(s.DB), G: b(s.G), Unusable: b(!s.Usable)}
}

// entrySregs applies the boot plan's special registers on top of the
// vCPU's reset state (which keeps the APIC base and the rest).
func entrySregs(s kvm.Sregs, e boot.Entry) kvm.Sregs {
	code, data := segment(e.Code), segment(e.Data)
	s.CS = code
	s.DS, s.ES, s.FS, s.GS, s.SS = data, data, data, data, data
	s.TR = segment(e.TSS)
	s.GDT = kvm.DTable{Base: e.GDTBase, Limit: e.GDTLimit}
	s.IDT = kvm.DTable{}
	s.CR0, s.CR3, s.CR4, s.EFER = e.CR0, e.CR3, e.CR4, e.EFER
	return s
}

// Local APIC register offsets and delivery modes.
const (
	apicLVT0    = 0x350
	apicLVT1    = 0x360
	deliveryExt = 7 << 8
	deliveryNMI = 4 << 8
	deliveryMsk = 7 << 8
)

// setLINTs wires LINT0 to the PIC (ExtINT) and LINT1 to NMI, as firmware
// does, so PIC interrupts reach the boot CPU before the IOAPIC is set up.
func setLINTs(l kvm.LAPICState) kvm.LAPICState {
	le := binary.LittleEndian
	v0 := le.Uint32(l.Regs[apicLVT0:])
	le.PutUint32(l.Regs[apicLVT0:], v0&^deliveryMsk|deliveryExt)
	v1 := le.Uint32(l.Regs[apicLVT1:])
	le.PutUint32(l.Regs[apicLVT1:], v1&^deliveryMsk|deliveryNMI)
	return l
}

const msrMiscEnable = 0x1a0

// setupVCPU gives vCPU c its CPUID, MSRs, LAPIC wiring and FPU state; the
// boot CPU also gets the entry registers. Other CPUs wait for the guest's
// INIT/SIPI in the in-kernel LAPIC.
func setupVCPU(c *kvm.VCPU, cpuid []kvm.CPUIDEntry, n int, tscDeadline bool, entry *boot.Entry) error {
	if err := c.SetCPUID(CPUID(cpuid, c.ID(), n, tscDeadline)); err != nil {
		return err
	}
	if err := c.SetMSRs(kvm.MSREntry{Index: msrMiscEnable, Data: 1}); err != nil { // fast strings
		return err
	}
	l, err := c.LAPIC()
	if err != nil {
		return err
	}
	if err := c.SetLAPIC(setLINTs(l)); err != nil {
		return err
	}
	if err := c.SetFPU(kvm.FPU{FCW: 0x37f, MXCSR: 0x1f80}); err != nil {
		return err
	}
	if entry == nil {
		return nil
	}
	s, err := c.Sregs()
	if err != nil {
		return err
	}
	if err := c.SetSregs(entrySregs(s, *entry)); err != nil {
		return err
	}
	return c.SetRegs(entryRegs(*entry))
}

// registerDump formats a vCPU's registers for a crash or stop report,
// with the guest's page walk of its instruction pointer.
//
// It also returns the state programs read (runresult.VCPU); only its ID
// is set when the registers cannot be read.
func registerDump(c *kvm.VCPU, mem guestReader) (string, runresult.VCPU) {
	state := runresult.VCPU{ID: c.ID()}
	r, err := c.Regs()
	if err != nil {
		return fmt.Sprintf("vCPU %d: registers unreadable: %v", c.ID(), err), state
	}
	s, err := c.Sregs()
	if err != nil {
		return fmt.Sprintf("vCPU %d: special registers unreadable: %v", c.ID(), err), state
	}
	walk, outsideAt := walkPage(mem, s.CR0, s.CR3, s.CR4, s.EFER, r.RIP)
	state.RIP, state.CR3, state.TopTableOutsideRAM = r.RIP, s.CR3, outsideAt == 0
	var b strings.Builder
	fmt.Fprintf(&b, "vCPU %d registers:\n", c.ID())
	fmt.Fprintf(&b, "  rip %016x rsp %016x rflags %016x\n", r.RIP, r.RSP, r.RFLAGS)
	fmt.Fprintf(&b, "  rax %016x rbx %016x rcx %016x rdx %016x\n", r.RAX, r.RBX, r.RCX, r.RDX)
	fmt.Fprintf(&b, "  rsi %016x rdi %016x rbp %016x\n", r.RSI, r.RDI, r.RBP)
	fmt.Fprintf(&b, "  r8  %016x r9  %016x r10 %016x r11 %016x\n", r.R8, r.R9, r.R10, r.R11)
	fmt.Fprintf(&b, "  r12 %016x r13 %016x r14 %016x r15 %016x\n", r.R12, r.R13, r.R14, r.R15)
	fmt.Fprintf(&b, "  cr0 %016x cr2 %016x cr3 %016x cr4 %016x efer %016x\n", s.CR0, s.CR2, s.CR3, s.CR4, s.EFER)
	fmt.Fprintf(&b, "  cs %04x (base %x l=%d) ss %04x gdt %x/%x idt %x/%x",
		s.CS.Selector, s.CS.Base, s.CS.L, s.SS.Selector, s.GDT.Base, s.GDT.Limit, s.IDT.Base, s.IDT.Limit)
	fmt.Fprintf(&b, "\n  rip walk: %s", walk)
	// The guest's clock and its next timer interrupt (TSC-deadline mode):
	// a guest idle forever shows here whether a timer is still coming.
	if m, err := c.MSRs(msrTSC, msrTSCDeadline); err == nil {
		fmt.Fprintf(&b, "\n  tsc %d, tsc deadline %d", m[0].Data, m[1].Data)
		if d := m[1].Data; d != 0 {
			fmt.Fprintf(&b, " (%+d ticks from now)", int64(d-m[0].Data))
		}
	}
	return b.String(), state
}

// The MSRs a stop report reads.
const (
	msrTSC         = 0x10
	msrTSCDeadline = 0x6e0
)
