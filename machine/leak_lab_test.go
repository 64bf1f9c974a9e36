package machine

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/vmmlab/vmm/internal/kvmtest"
	"github.com/vmmlab/vmm/internal/testkernel"
)

// usage is what a machine could leak: descriptors (eventfds among them),
// threads, resident memory.
type usage struct{ fds, eventfds, threads, rssKiB int }

func measure(t *testing.T) usage {
	t.Helper()
	runtime.GC()
	debug.FreeOSMemory()
	var u usage
	ents, _ := os.ReadDir("/proc/self/fd")
	u.fds = len(ents)
	for _, e := range ents {
		if l, _ := os.Readlink(filepath.Join("/proc/self/fd", e.Name())); strings.Contains(l, "eventfd") {
			u.eventfds++
		}
	}
	status, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(status), "\n") {
		fmt.Sscanf(l, "Threads: %d", &u.threads)
		fmt.Sscanf(l, "VmRSS: %d kB", &u.rssKiB)
	}
	return u
}

// 100 machines with a disk and a NIC (ioeventfds, irqfds, a tap), built,
// run to power-off and closed one after another in one process, leave no
// descriptor, eventfd, thread, tap or memory behind.
func TestRepeatedMachinesLeakNothing(t *testing.T) {
	kvmtest.Open(t)
	disk := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(disk, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	const tapName = "vmmleak0"
	cycle := func(i int) {
		m, err := New(Config{Kernel: testkernel.BzImage(join(testkernel.Booted, testkernel.PowerOff), 0), MemSize: 64 << 20, CPUs: 1,
			Console: io.Discard, Start: time.Now(), Disks: []Disk{{Path: disk}}, NICs: []NIC{{Tap: tapName, FD: -1}}})
		if err != nil {
			t.Fatalf("machine %d: %v", i, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		r := m.Run(ctx)
		cancel()
		if err := m.Close(); err != nil {
			t.Fatalf("machine %d: close: %v", i, err)
		}
		if r.Kind != PowerOff {
			t.Fatalf("machine %d: %+v", i, r)
		}
	}
	for i := 0; i < 5; i++ { // the Go runtime's threads and heap settle first
		cycle(i)
	}
	before := measure(t)
	for i := 0; i < 100; i++ {
		cycle(i)
	}
	after := measure(t)
	t.Logf("before %+v, after 100 machines %+v", before, after)
	if after.fds != before.fds || after.eventfds != before.eventfds {
		t.Errorf("descriptors %d -> %d, eventfds %d -> %d", before.fds, after.fds, before.eventfds, after.eventfds)
	}
	if after.threads > before.threads+2 {
		t.Errorf("threads %d -> %d", before.threads, after.threads)
	}
	if after.rssKiB > before.rssKiB+32<<10 {
		t.Errorf("resident memory grew from %d to %d KiB", before.rssKiB, after.rssKiB)
	}
	if _, err := os.Stat("/sys/class/net/" + tapName); err == nil {
		t.Errorf("tap %s is still there", tapName)
	}
}
