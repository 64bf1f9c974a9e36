package kvm_test

// These tests run real guests. They need /dev/kvm, so on machines without
// it they skip (naming `make e2e`); the lab runs them for real.

import (
	"encoding/binary"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vmmlab/vmm/internal/kvmtest"
	"github.com/vmmlab/vmm/kvm"
	"github.com/vmmlab/vmm/memory"
)

// machine is a VM with one vCPU and RAM at guest address 0.
type machine struct {
	vm  *kvm.VM
	cpu *kvm.VCPU
	mem *memory.Guest
	ram []byte
	sys *kvm.System
}

func newMachine(t *testing.T, ramSize uint64, irqchip bool) *machine {
	t.Helper()
	sys := kvmtest.Open(t)
	runtime.LockOSThread() // a vCPU runs on the thread that created it
	t.Cleanup(runtime.UnlockOSThread)
	vm, err := sys.CreateVM()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { vm.Close() })
	if err := vm.SetTSSAddr(0xfffb_d000); err != nil {
		t.Fatal(err)
	}
	if err := vm.SetIdentityMapAddr(0xfffb_c000); err != nil { // only valid before vCPUs exist
		t.Fatal(err)
	}
	if irqchip {
		if err := vm.CreateIRQChip(); err != nil {
			t.Fatal(err)
		}
	}
	mem, err := memory.Map(memory.Span{Base: 0, Size: ramSize})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mem.Close() })
	ram := mem.Regions()[0].Data
	if err := vm.SetUserMemoryRegion(kvm.MemoryRegion{Slot: 0, GuestPhys: 0, Memory: ram}); err != nil {
		t.Fatal(err)
	}
	cpu, err := vm.CreateVCPU(0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cpu.Close() })
	return &machine{vm: vm, cpu: cpu, mem: mem, ram: ram, sys: sys}
}

// next runs the vCPU to its next exit other than an interrupted run.
func (m *machine) next(t *testing.T) kvm.Exit {
	t.Helper()
	for range 10000 {
		e, err := m.cpu.Run()
		if err != nil {
			t.Fatal(err)
		}
		if e.Reason != kvm.ExitIntr {
			return e
		}
	}
	t.Fatal("KVM_RUN interrupted 10000 times in a row")
	return kvm.Exit{}
}

func (m *machine) realMode(t *testing.T, rip uint64) {
	t.Helper()
	s, err := m.cpu.Sregs()
	if err != nil {
		t.Fatal(err)
	}
	s.CS.Base, s.CS.Selector = 0, 0
	if err := m.cpu.SetSregs(s); err != nil {
		t.Fatal(err)
	}
	if err := m.cpu.SetRegs(kvm.Regs{RIP: rip, RFLAGS: 2}); err != nil {
		t.Fatal(err)
	}
}

func TestRealModePortIOAndHLT(t *testing.T) {
	m := newMachine(t, 0x10000, false)
	code := []byte{
		0xba, 0xf8, 0x03, // mov dx, 0x3f8
		0xb0, 'K', // mov al, 'K'
		0xee,       // out dx, al
		0xec,       // in al, dx      (the VMM answers 0x5a)
		0xfe, 0xc0, // inc al
		0xee, // out dx, al     (0x5b)
		0xf4, // hlt
	}
	copy(m.ram[0x1000:], code)
	m.realMode(t, 0x1000)

	want := []struct {
		dir  uint8
		data byte
	}{{kvm.IOOut, 'K'}, {kvm.IOIn, 0x5a}, {kvm.IOOut, 0x5b}}
	for i, w := range want {
		e := m.next(t)
		if e.Reason != kvm.ExitIO || e.IO.Port != 0x3f8 || e.IO.Size != 1 || e.IO.Count != 1 || e.IO.Direction != w.dir {
			t.Fatalf("exit %d: %v, want I/O dir %d at 0x3f8", i, e, w.dir)
		}
		if w.dir == kvm.IOIn {
			e.IO.Data[0] = w.data
		} else if e.IO.Data[0] != w.data {
			t.Fatalf("exit %d: guest wrote %#x, want %#x", i, e.IO.Data[0], w.data)
		}
	}
	if e := m.next(t); e.Reason != kvm.ExitHLT {
		t.Fatalf("last exit %v, want HLT", e)
	}
	r, err := m.cpu.Regs()
	if err != nil {
		t.Fatal(err)
	}
	if r.RIP != 0x1000+uint64(len(code)) || r.RAX&0xff != 0x5b {
		t.Fatalf("after HLT: rip %#x rax %#x", r.RIP, r.RAX)
	}
}

// longMode builds identity page tables for the first 1 GiB (2 MiB pages), a
// GDT with a 64-bit code segment, and enters long mode at rip.
func (m *machine) longMode(t *testing.T, rip uint64) {
	t.Helper()
	const pml4, pdpt, pd, gdt = 0x2000, 0x3000, 0x4000, 0x500
	le := binary.LittleEndian
	le.PutUint64(m.ram[pml4:], pdpt|0x3) // present, writable
	le.PutUint64(m.ram[pdpt:], pd|0x3)
	for i := uint64(0); i < 512; i++ {
		le.PutUint64(m.ram[pd+8*i:], i<<21|0x83) // present, writable, 2 MiB page
	}
	le.PutUint64(m.ram[gdt+8:], 0x00af9b000000ffff)  // 0x08: 64-bit code
	le.PutUint64(m.ram[gdt+16:], 0x00cf93000000ffff) // 0x10: data
	s, err := m.cpu.Sregs()
	if err != nil {
		t.Fatal(err)
	}
	code := kvm.Segment{Base: 0, Limit: 0xffffffff, Selector: 0x08, Type: 11, Present: 1, S: 1, L: 1, G: 1}
	data := kvm.Segment{Base: 0, Limit: 0xffffffff, Selector: 0x10, Type: 3, Present: 1, S: 1, DB: 1, G: 1}
	s.CS = code
	s.DS, s.ES, s.FS, s.GS, s.SS = data, data, data, data, data
	s.GDT = kvm.DTable{Base: gdt, Limit: 23}
	s.CR3 = pml4
	s.CR4 = 1 << 5                            // PAE
	s.CR0 = 1<<0 | 1<<1 | 1<<4 | 1<<5 | 1<<31 // PE MP ET NE PG
	s.EFER = 1<<8 | 1<<10                     // LME LMA
	if err := m.cpu.SetSregs(s); err != nil {
		t.Fatal(err)
	}
	if err := m.cpu.SetRegs(kvm.Regs{RIP: rip, RSP: 0x8000, RFLAGS: 2}); err != nil {
		t.Fatal(err)
	}
}

func TestLongModeMMIOAndHLT(t *testing.T) {
	m := newMachine(t, 2<<20, false)
	const mmio = 0x2000_0000   // mapped by the page tables, not backed by RAM
	code := []byte{0x48, 0xbb} // movabs rbx, mmio
	code = binary.LittleEndian.AppendUint64(code, mmio)
	code = append(code, 0x48, 0xb8) // movabs rax, 0x1122334455667788
	code = binary.LittleEndian.AppendUint64(code, 0x1122334455667788)
	code = append(code,
		0x48, 0x89, 0x03, // mov [rbx], rax      8-byte MMIO write
		0x8b, 0x0b, // mov ecx, [rbx]      4-byte MMIO read (VMM answers)
		0x89, 0x4b, 0x08, // mov [rbx+8], ecx    4-byte MMIO write of what was read
		0xf4, // hlt
	)
	copy(m.ram[0x10000:], code)
	m.longMode(t, 0x10000)

	e := m.next(t)
	if e.Reason != kvm.ExitMMIO || !e.MMIO.IsWrite || e.MMIO.Addr != mmio || len(e.MMIO.Data) != 8 ||
		binary.LittleEndian.Uint64(e.MMIO.Data) != 0x1122334455667788 {
		t.Fatalf("exit 1: %v data %x", e, e.MMIO.Data)
	}
	e = m.next(t)
	if e.Reason != kvm.ExitMMIO || e.MMIO.IsWrite || e.MMIO.Addr != mmio || len(e.MMIO.Data) != 4 {
		t.Fatalf("exit 2: %v, want a 4-byte MMIO read", e)
	}
	binary.LittleEndian.PutUint32(e.MMIO.Data, 0xcafef00d)
	e = m.next(t)
	if e.Reason != kvm.ExitMMIO || !e.MMIO.IsWrite || e.MMIO.Addr != mmio+8 || len(e.MMIO.Data) != 4 ||
		binary.LittleEndian.Uint32(e.MMIO.Data) != 0xcafef00d {
		t.Fatalf("exit 3: %v data %x", e, e.MMIO.Data)
	}
	if e = m.next(t); e.Reason != kvm.ExitHLT {
		t.Fatalf("exit 4: %v, want HLT", e)
	}
	r, err := m.cpu.Regs()
	if err != nil {
		t.Fatal(err)
	}
	s, err := m.cpu.Sregs()
	if err != nil {
		t.Fatal(err)
	}
	if r.RCX != 0xcafef00d || r.RIP != 0x10000+uint64(len(code)) || s.EFER&(1<<10) == 0 {
		t.Fatalf("after HLT: rcx %#x rip %#x efer %#x", r.RCX, r.RIP, s.EFER)
	}
}

// An ioeventfd turns a guest port write into an eventfd signal without an
// exit; the in-kernel irqchip and PIT, IRQ lines, irqfd, MSI, LAPIC, FPU,
// CPUID and MSR calls all work on a real VM.
func TestVMFacilities(t *testing.T) {
	m := newMachine(t, 0x10000, true)
	for _, c := range []kvm.Cap{kvm.CapUserMemory, kvm.CapIRQChip, kvm.CapIOEventFD, kvm.CapIRQFD, kvm.CapPIT2} {
		if v, err := m.sys.CheckExtension(c); err != nil || v == 0 {
			t.Errorf("extension %d: %d %v", c, v, err)
		}
	}
	// CPUID is fixed once a vCPU has run (Linux 5.16+), so set it first.
	cpuid, err := m.sys.SupportedCPUID()
	if err != nil {
		t.Fatal(err)
	}
	if len(cpuid) == 0 || cpuid[0].Function != 0 || cpuid[0].EAX == 0 {
		t.Fatalf("supported CPUID: %d entries, first %+v", len(cpuid), cpuid)
	}
	if err := m.cpu.SetCPUID(cpuid); err != nil {
		t.Fatal(err)
	}
	if err := m.vm.CreatePIT2(kvm.PITSpeakerDummy); err != nil {
		t.Fatal(err)
	}
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(efd)
	ev := kvm.IOEvent{Addr: 0x500, Len: 1, FD: efd, PIO: true}
	if err := m.vm.AddIOEventFD(ev); err != nil {
		t.Fatal(err)
	}
	copy(m.ram[0x1000:], []byte{
		0xba, 0x00, 0x05, // mov dx, 0x500
		0xb0, 0x01, // mov al, 1
		0xee,             // out dx, al   -> eventfd, no exit
		0xba, 0xf8, 0x03, // mov dx, 0x3f8
		0xee, // out dx, al   -> exit
	})
	m.realMode(t, 0x1000)
	if e := m.next(t); e.Reason != kvm.ExitIO || e.IO.Port != 0x3f8 {
		t.Fatalf("first exit %v, want the write to 0x3f8 (the 0x500 write must not exit)", e)
	}
	var cnt [8]byte
	if _, err := unix.Read(efd, cnt[:]); err != nil || binary.LittleEndian.Uint64(cnt[:]) != 1 {
		t.Fatalf("eventfd: %x %v, want one signal", cnt, err)
	}
	if err := m.vm.RemoveIOEventFD(ev); err != nil {
		t.Fatal(err)
	}

	if err := m.vm.SetIRQLine(4, true); err != nil {
		t.Fatal(err)
	}
	if err := m.vm.SetIRQLine(4, false); err != nil {
		t.Fatal(err)
	}
	if err := m.vm.AddIRQFD(efd, 5); err != nil {
		t.Fatal(err)
	}
	if err := m.vm.RemoveIRQFD(efd, 5); err != nil {
		t.Fatal(err)
	}
	if err := m.vm.SignalMSI(0xfee00000, 0x30); err != nil {
		t.Fatal(err)
	}

	l, err := m.cpu.LAPIC()
	if err != nil {
		t.Fatal(err)
	}
	if err := m.cpu.SetLAPIC(l); err != nil {
		t.Fatal(err)
	}
	f, err := m.cpu.FPU()
	if err != nil {
		t.Fatal(err)
	}
	f.FCW = 0x37f
	if err := m.cpu.SetFPU(f); err != nil {
		t.Fatal(err)
	}
	if f, err = m.cpu.FPU(); err != nil || f.FCW != 0x37f {
		t.Fatalf("FPU FCW %#x %v", f.FCW, err)
	}

	msrs, err := m.sys.MSRIndexList()
	if err != nil || len(msrs) == 0 {
		t.Fatalf("MSR index list: %d entries, %v", len(msrs), err)
	}
	const sysenterCS = 0x174
	if err := m.cpu.SetMSRs(kvm.MSREntry{Index: sysenterCS, Data: 0x10}); err != nil {
		t.Fatal(err)
	}
	got, err := m.cpu.MSRs(sysenterCS)
	if err != nil || got[0].Data != 0x10 {
		t.Fatalf("MSR %#x = %+v %v", sysenterCS, got, err)
	}
}

// Creating and closing VMs and vCPUs leaks no file descriptors.
func TestNoFDLeak(t *testing.T) {
	kvmtest.Open(t)
	count := func() int { return kvmtest.OpenFDs(t) }
	cycle := func() {
		sys, err := kvm.Open("")
		if err != nil {
			t.Fatal(err)
		}
		vm, err := sys.CreateVM()
		if err != nil {
			t.Fatal(err)
		}
		cpu, err := vm.CreateVCPU(0)
		if err != nil {
			t.Fatal(err)
		}
		for _, err := range []error{cpu.Close(), vm.Close(), sys.Close()} {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	cycle()
	before := count()
	for range 20 {
		cycle()
	}
	if after := count(); after != before {
		t.Fatalf("open fds went from %d to %d over 20 VM lifecycles", before, after)
	}
}

// Writes to a coalesced port range cost no exit: KVM queues them in the
// ring, in order, and the next exit (a read of another port) finds them
// there.
func TestCoalescedPortWrites(t *testing.T) {
	m := newMachine(t, 0x10000, false)
	if err := m.vm.CoalescePortWrites(0xcf8, 4); err != nil {
		t.Fatal(err)
	}
	ring, err := m.vm.CoalescedRing(m.cpu)
	if err != nil {
		t.Fatal(err)
	}
	defer ring.Close()
	copy(m.ram[0x1000:], []byte{
		0xba, 0xf8, 0x0c, // mov dx, 0xcf8
		0x66, 0xb8, 0x00, 0x00, 0x00, 0x80, // mov eax, 0x80000000
		0x66, 0xef, // out dx, eax   -> queued
		0x66, 0x40, // inc eax
		0x66, 0xef, // out dx, eax   -> queued
		0xba, 0xfc, 0x0c, // mov dx, 0xcfc
		0x66, 0xed, // in eax, dx    -> exit
		0xf4, // hlt
	})
	m.realMode(t, 0x1000)
	e := m.next(t)
	if e.Reason != kvm.ExitIO || e.IO.Port != 0xcfc || e.IO.Direction != kvm.IOIn {
		t.Fatalf("first exit %v, want the read of 0xcfc (the writes to 0xcf8 must not exit)", e)
	}
	var got []uint32
	n := ring.Drain(func(w kvm.CoalescedWrite) {
		if !w.PIO || w.Addr != 0xcf8 || len(w.Data) != 4 {
			t.Errorf("queued write %+v, want 4 bytes to port 0xcf8", w)
			return
		}
		got = append(got, binary.LittleEndian.Uint32(w.Data))
	})
	if n != 2 || len(got) != 2 || got[0] != 0x80000000 || got[1] != 0x80000001 {
		t.Fatalf("ring held %d writes %#x, want 0x80000000 then 0x80000001", n, got)
	}
	if n := ring.Drain(func(kvm.CoalescedWrite) {}); n != 0 {
		t.Errorf("a drained ring gave %d more", n)
	}
	if e := m.next(t); e.Reason != kvm.ExitHLT {
		t.Fatalf("last exit %v, want HLT", e)
	}
}
