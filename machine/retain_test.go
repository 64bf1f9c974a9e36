package machine

import (
	"runtime"
	"testing"
	"time"
	"weak"

	"github.com/vmmlab/vmm/devices/boottimer"
)

// The port devices live as long as the machine, and so do their
// callbacks: none of them may hold the Config, whose Kernel is megabytes
// of heap (the boot timer's callback did, and a booted VM kept its
// kernel image resident: 3.9 MiB of vmm's own memory with the minimal
// kernel, 8.6 MiB with Debian's, in the bench).
func TestDevicesDoNotKeepTheKernel(t *testing.T) {
	kernel := make([]byte, 8<<20)
	gone := weak.Make(&kernel[0])
	m := &Machine{ev: newEvents()}
	booted := false
	if err := m.createDevices(Config{Kernel: kernel, Start: time.Now(), OnBooted: func(time.Duration) { booted = true }}); err != nil {
		t.Fatal(err)
	}
	kernel = nil
	for range 3 {
		runtime.GC()
	}
	if gone.Value() != nil {
		t.Error("the machine's devices keep the kernel image reachable")
	}
	m.timer.Write(0, []byte{boottimer.MagicValue}) // the guest's boot-timer write still reaches OnBooted
	if !booted {
		t.Error("the boot timer did not call OnBooted")
	}
	runtime.KeepAlive(m)
}
