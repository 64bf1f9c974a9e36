package bench

import (
	"context"
	"os/exec"
	"runtime"
	"testing"
	"time"
)

func TestStartProcReportsEarlyExit(t *testing.T) {
	in := &Instance{}
	_, err := startProc(context.Background(), exec.Command("sh", "-c", "echo dying; exit 3"), in)
	if err == nil {
		t.Fatal("a process that ended without its marker was ready")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := startProc(ctx, exec.Command("sleep", "30"), &Instance{}); err == nil {
		t.Fatal("a process that never printed its marker was ready")
	}
}

// The test binary's main goroutine keeps the main thread, which the Go
// runtime never ends; so the goroutine below runs on a thread that ends
// with it.
func init() { runtime.LockOSThread() }

// An instance must outlive the OS thread that launched it: the Go
// runtime ends threads that goroutines leave locked (every entry into the
// density bridge's network namespace does). With Pdeathsig the kernel
// killed running VMs (and dockerd) when such a thread ended.
func TestInstanceOutlivesLaunchingThread(t *testing.T) {
	type started struct {
		in  *Instance
		err error
	}
	c := make(chan started)
	go func() {
		runtime.LockOSThread() // never unlocked: this thread ends with the goroutine
		in := &Instance{}
		_, err := startProc(context.Background(), exec.Command("sh", "-c", "echo "+markerText+"; exec sleep 30"), in)
		c <- started{in, err}
	}()
	s := <-c
	if s.err != nil {
		t.Fatal(s.err)
	}
	defer s.in.Stop()
	time.Sleep(300 * time.Millisecond) // the locked thread is gone by now
	if len(s.in.PIDs()) == 0 {
		t.Fatal("the instance died with the thread that launched it")
	}
}

// A failed vmm's own account of how the VM stopped stays in the failure,
// though its register dump pushes it out of the last lines.
func TestFailureLinesKeepVMMsReason(t *testing.T) {
	out := "guest booting\nvmm: warning: the VM runs as root\nvmm: crashed: vCPU 0 triple-faulted (KVM_EXIT_SHUTDOWN)\nvCPU 0 registers:\n  rip fff0\n  cs f000\n  rip walk: 0xfff0: paging off\n  tsc 1"
	got := failureLines(out, 3)
	want := "vmm: crashed: vCPU 0 triple-faulted (KVM_EXIT_SHUTDOWN) | ... |   cs f000 |   rip walk: 0xfff0: paging off |   tsc 1"
	if got != want {
		t.Errorf("failureLines = %q, want %q", got, want)
	}
	if got := failureLines("a\nvmm: exit 1\nb", 3); got != "a | vmm: exit 1 | b" {
		t.Errorf("a vmm line among the last lines is not repeated: %q", got)
	}
	if got := failureLines("crun: failed\nno such file", 5); got != "crun: failed | no such file" {
		t.Errorf("output without a vmm line: %q", got)
	}
}
