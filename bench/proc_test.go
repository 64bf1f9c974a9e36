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
