package machine

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vmmlab/vmm/internal/kvmtest"
	"github.com/vmmlab/vmm/internal/testkernel"
)

func join(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// runFake boots a test kernel made of code; the caller has checked for KVM.
func runFake(t *testing.T, code []byte, cpus int, console *bytes.Buffer) Result {
	t.Helper()
	if console == nil {
		console = &bytes.Buffer{}
	}
	m, err := New(Config{Kernel: testkernel.BzImage(code, 0), MemSize: 64 << 20, CPUs: cpus, Console: console, Start: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r := m.Run(ctx)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestFakeKernelPowerOff(t *testing.T) {
	kvmtest.Open(t)
	var out bytes.Buffer
	r := runFake(t, join(testkernel.SerialHi, testkernel.Booted, testkernel.PowerOff), 1, &out)
	if r.Kind != PowerOff || out.String() != "hi" || !r.Booted || r.BootTime <= 0 {
		t.Fatalf("result %+v, console %q", r, out.String())
	}
}

func TestFakeKernelKeyboardReset(t *testing.T) {
	kvmtest.Open(t)
	if r := runFake(t, testkernel.KbdReset, 1, nil); r.Kind != Reset {
		t.Fatalf("result %+v", r)
	}
}

func TestFakeKernelTripleFault(t *testing.T) {
	kvmtest.Open(t)
	r := runFake(t, testkernel.UD2, 1, nil)
	// The dump is taken after the exit; AMD's SVM has already reset the
	// vCPU by then, so only its presence is checked.
	if r.Kind != Crashed || !strings.Contains(r.Dump, "vCPU 0 registers") {
		t.Fatalf("result %+v\n%s", r.Event, r.Dump)
	}
}

// Two vCPUs: the second waits for a SIPI that never comes, so stopping
// the machine must kick it out of KVM_RUN.
func TestFakeKernelStopsAllVCPUs(t *testing.T) {
	kvmtest.Open(t)
	if r := runFake(t, testkernel.PowerOff, 2, nil); r.Kind != PowerOff {
		t.Fatalf("result %+v", r)
	}
}

func TestRunCancelled(t *testing.T) {
	kvmtest.Open(t)
	m, err := New(Config{Kernel: testkernel.BzImage(testkernel.Spin, 0), MemSize: 64 << 20, CPUs: 1, Console: &bytes.Buffer{}, Start: time.Now()}) // jmp $
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	r := m.Run(ctx)
	if r.Kind != Interrupted {
		t.Fatalf("result %+v", r)
	}
	// The stop report says where the vCPU was, through the boot page
	// tables (2 MiB identity pages) to the spinning instruction.
	if !strings.Contains(r.Dump, "vCPU 0 registers") || !strings.Contains(r.Dump, "rip walk: ") || !strings.Contains(r.Dump, " = physical ") {
		t.Fatalf("stop report without the vCPU's place:\n%s", r.Dump)
	}
	t.Log(r.Dump)
}

// Building, running and closing machines leaks no fds or goroutines.
func TestNoLeaks(t *testing.T) {
	kvmtest.Open(t)
	fds := func() int { return kvmtest.OpenFDs(t) }
	runFake(t, testkernel.PowerOff, 2, nil)
	fd0, g0 := fds(), runtime.NumGoroutine()
	for range 10 {
		if r := runFake(t, testkernel.PowerOff, 2, nil); r.Kind != PowerOff {
			t.Fatalf("result %+v", r)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > g0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if fd1, g1 := fds(), runtime.NumGoroutine(); fd1 != fd0 || g1 > g0 {
		t.Fatalf("after 10 runs: fds %d -> %d, goroutines %d -> %d", fd0, fd1, g0, g1)
	}
}

// Pause holds every vCPU (a guest counting in memory stops counting),
// Resume lets them go on; pausing twice, resuming a running machine and
// pausing one that has stopped are errors; a paused machine still stops.
// countedWord is the 64-bit word at guest address 0x200000, where the
// test guests count.
func countedWord(t *testing.T, m *Machine) uint64 {
	t.Helper()
	var b [8]byte
	if err := m.mem.Read(0x200000, b[:]); err != nil {
		t.Fatal(err)
	}
	return binary.LittleEndian.Uint64(b[:])
}

// waitCounting waits (30 s at most) until the guest counted once.
func waitCounting(t *testing.T, m *Machine, failure string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); countedWord(t, m) == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal(failure)
		}
	}
}

func TestPauseResume(t *testing.T) {
	kvmtest.Open(t)
	m, err := New(Config{Kernel: testkernel.BzImage(testkernel.Count, 0), MemSize: 64 << 20, CPUs: 2, Console: &bytes.Buffer{}, Start: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan Result, 1)
	go func() { done <- m.Run(ctx) }()
	counter := func() uint64 { return countedWord(t, m) }
	waitCounting(t, m, "the guest never counted")
	if err := m.Pause(); err != nil {
		t.Fatal(err)
	}
	if err := m.Pause(); !errors.Is(err, ErrPaused) {
		t.Fatalf("second pause: %v", err)
	}
	a := counter()
	time.Sleep(200 * time.Millisecond)
	if b := counter(); b != a {
		t.Fatalf("paused, the guest counted from %d to %d", a, b)
	}
	if err := m.Resume(); err != nil {
		t.Fatal(err)
	}
	if err := m.Resume(); !errors.Is(err, ErrNotPaused) {
		t.Fatalf("second resume: %v", err)
	}
	for deadline := time.Now().Add(30 * time.Second); counter() == a; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("resumed, the guest does not count")
		}
	}
	if err := m.Pause(); err != nil {
		t.Fatal(err)
	}
	cancel() // a paused machine stops too
	select {
	case r := <-done:
		if r.Kind != Interrupted {
			t.Fatalf("result %+v", r.Event)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a paused machine did not stop")
	}
	if err := m.Pause(); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("pause after the run: %v", err)
	}
}

// A pause finishes the port read the vCPU's last exit left pending (KVM
// completes a read only in the next KVM_RUN): paused, the guest's memory
// and registers account for every read vmm served, so a snapshot taken
// then is one the guest can go on from. The guest reads the UART's line
// status register in a loop and counts each completed read in memory.
func TestPauseCompletesPortReads(t *testing.T) {
	kvmtest.Open(t)
	// mov ebx,0x200000; mov dx,0x3fd; loop: in al,dx; inc qword [rbx]; jmp loop
	code := []byte{0xbb, 0x00, 0x00, 0x20, 0x00, 0x66, 0xba, 0xfd, 0x03, 0xec, 0x48, 0xff, 0x03, 0xeb, 0xfa}
	const incAddr = 0x100200 + 10 // the code runs at the 64-bit entry
	m, err := New(Config{Kernel: testkernel.BzImage(code, 0), MemSize: 64 << 20, CPUs: 1, Console: &bytes.Buffer{}, Start: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan Result, 1)
	go func() { done <- m.Run(ctx) }()
	defer func() { cancel(); <-done }() // the run ends before Close unmaps what it uses
	counted := func() uint64 { return countedWord(t, m) }
	waitCounting(t, m, "the guest never read the port")
	for i := 0; i < 50; i++ {
		if err := m.Pause(); err != nil {
			t.Fatal(err)
		}
		served, done := m.exits.snapshot()["io 0x3fd"], counted()
		r, err := m.cpus[0].Regs()
		if err != nil {
			t.Fatal(err)
		}
		between := uint64(0) // the read is done, its count not yet
		if r.RIP == incAddr {
			between = 1
		}
		if served != done+between {
			t.Fatalf("pause %d: vmm served %d reads, the guest completed %d, and its rip is %#x: a read is left half done", i, served, done, r.RIP)
		}
		if err := m.Resume(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
