package e2e

import (
	"bufio"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vmmlab/vmm/internal/kvmtest"
	"github.com/vmmlab/vmm/lab/labenv"
)

// settledMeminfo drops the host's clean caches (page cache, reclaimable
// slab) and reads /proc/meminfo, in KiB by field: what is left is memory
// something holds, which a leak would grow.
func settledMeminfo(t *testing.T) map[string]int {
	t.Helper()
	exec.Command("sync").Run()
	if err := os.WriteFile("/proc/sys/vm/drop_caches", []byte("3"), 0); err != nil {
		t.Logf("dropping the caches: %v", err)
	}
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var name string
		var kb int
		if n, _ := fmt.Sscanf(sc.Text(), "%s %d", &name, &kb); n == 2 {
			m[strings.TrimSuffix(name, ":")] = kb
		}
	}
	if _, ok := m["MemAvailable"]; !ok {
		t.Fatal("no MemAvailable in /proc/meminfo")
	}
	return m
}

// meminfoMoves lists the fields of /proc/meminfo that changed by at least
// min KiB from before to after.
func meminfoMoves(before, after map[string]int, min int) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(after)) {
		if d := after[k] - before[k]; d >= min || d <= -min {
			fmt.Fprintf(&b, "%s %+d KiB; ", k, d)
		}
	}
	return b.String()
}

// 50 vmm processes in a row, each with a tap, each booting the minimal
// kernel to its workload and powering off: every one ends cleanly, and
// they leave no process, tap or memory behind.
//
// The outer kernel traces KVM's exits meanwhile: a guest that
// triple-faults is reported with the exits that led to it. One that hit
// one of the nested lab's known faults (labFault) is booted again, up to
// labTries runs in all.
func TestManyVMMsInARow(t *testing.T) {
	l := kernelOnly(t)
	micro := kvmtest.File(t, labenv.EnvMicroKernel)
	image := kvmtest.File(t, labenv.EnvWorkloadInitramfs)
	tr := startKVMTrace(t)
	boot := func(i int) {
		// One takes 5-7 s in the lab; a guest stuck in a known lab fault
		// is stopped after a minute, with vmm's stop report.
		out, err := retryOutput(t, tr, fmt.Sprintf("vmm %d", i), labTries, func() ([]byte, error) {
			return runLimited(time.Minute, nil, l.vmm, "boot", "--json", "--kernel", micro, "--initrd", image, "--mem", "128M", "--virtio", "mmio",
				"--net", "tap=vmmrow0", "--cmdline", testWorkload("0"))
		})
		if err != nil || !strings.Contains(string(out), "WORKLOAD-HELLO") {
			t.Errorf("vmm %d: %v\n%s\nthe outer kernel's trace before a triple fault, if any:\n%s", i, err, out, tr.shutdownTail(t, 80))
		}
		if i%10 == 0 {
			fmt.Printf("TestManyVMMsInARow: VM %d powered off\n", i) // keeps the lab's idle watchdog quiet
		}
	}
	boot(0)
	before := settledMeminfo(t)
	for i := 1; i <= 50; i++ {
		boot(i)
	}
	after := settledMeminfo(t)
	t.Logf("MemAvailable %d -> %d KiB over 50 VMs (caches dropped); moved by 4 MiB or more: %s",
		before["MemAvailable"], after["MemAvailable"], meminfoMoves(before, after, 4<<10))
	if fell := before["MemAvailable"] - after["MemAvailable"]; fell > 64<<10 {
		t.Errorf("host MemAvailable fell by %d KiB over 50 VMs in a row", fell)
	}
	if _, err := os.Stat("/sys/class/net/vmmrow0"); err == nil {
		t.Error("the tap is still there")
	}
	if out, _ := exec.Command("pidof", "vmm").Output(); len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("vmm processes left: %s", out)
	}
}
