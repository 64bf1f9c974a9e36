package e2e

import (
	"bufio"
	"fmt"
	"github.com/vmmlab/vmm/lab/labenv"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/vmmlab/vmm/internal/kvmtest"
)

// memAvailableKiB reads the host's MemAvailable.
func memAvailableKiB(t *testing.T) int {
	t.Helper()
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var kb int
		if n, _ := fmt.Sscanf(sc.Text(), "MemAvailable: %d kB", &kb); n == 1 {
			return kb
		}
	}
	t.Fatal("no MemAvailable")
	return 0
}

// 50 vmm processes in a row, each with a tap, each booting the minimal
// kernel to its workload and powering off: every one ends cleanly, and
// they leave no process, tap or memory behind.
//
// The outer kernel traces KVM's exits meanwhile: a guest that
// triple-faults is reported with the exits that led to it, and booted
// again (up to labTries runs) when the fault came while KVM delivered an event (the nested
// lab's known fault, see deliveryFaults).
func TestManyVMMsInARow(t *testing.T) {
	l := kernelOnly(t)
	micro := kvmtest.File(t, labenv.EnvMicroKernel)
	image := kvmtest.File(t, labenv.EnvWorkloadInitramfs)
	tr := startKVMTrace(t)
	boot := func(i int) {
		// One takes 5-7 s in the lab; a guest stuck in a known lab fault
		// is stopped after a minute, with vmm's stop report.
		out, err := retryOutput(t, tr, fmt.Sprintf("vmm %d", i), labTries, func() ([]byte, error) {
			return runUntilFault(time.Minute, nil, nil, l.vmm, "boot", "--kernel", micro, "--initrd", image, "--mem", "128M", "--virtio", "mmio",
				"--net", "tap=vmmrow0", "--cmdline", cmdlineNoRdinit+" vmm.run=/bin/testworkload vmm.arg=0")
		})
		if err != nil || !strings.Contains(string(out), "WORKLOAD-HELLO") {
			t.Errorf("vmm %d: %v\n%s\nthe outer kernel's trace before a triple fault, if any:\n%s", i, err, out, tr.shutdownTail(t, 80))
		}
		if i%10 == 0 {
			fmt.Printf("TestManyVMMsInARow: VM %d powered off\n", i) // keeps the lab's idle watchdog quiet
		}
	}
	boot(0)
	before := memAvailableKiB(t)
	for i := 1; i <= 50; i++ {
		boot(i)
	}
	after := memAvailableKiB(t)
	t.Logf("MemAvailable %d -> %d KiB over 50 VMs", before, after)
	if after < before-64<<10 {
		t.Errorf("host MemAvailable fell by %d KiB over 50 VMs in a row", before-after)
	}
	if _, err := os.Stat("/sys/class/net/vmmrow0"); err == nil {
		t.Error("the tap is still there")
	}
	if out, _ := exec.Command("pidof", "vmm").Output(); len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("vmm processes left: %s", out)
	}
}
