package e2e

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
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
func TestManyVMMsInARow(t *testing.T) {
	l := kernelOnly(t)
	micro := kvmtest.File(t, "VMM_LAB_MICRO_KERNEL")
	image := kvmtest.File(t, "VMM_LAB_WORKLOAD_INITRAMFS")
	boot := func(i int) {
		out, err := exec.Command(l.vmm, "boot", "--kernel", micro, "--initrd", image, "--mem", "64M", "--virtio", "mmio",
			"--net", "tap=vmmrow0", "--cmdline", cmdlineNoRdinit+" vmm.run=/bin/testworkload vmm.arg=0").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "WORKLOAD-HELLO") {
			t.Fatalf("vmm %d: %v\n%s", i, err, out)
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

// 20 VMs booting at once on the lab's two vCPUs all power off cleanly.
func TestTwentyVMsAtOnce(t *testing.T) {
	l := kernelOnly(t)
	micro := kvmtest.File(t, "VMM_LAB_MICRO_KERNEL")
	image := kvmtest.File(t, "VMM_LAB_WORKLOAD_INITRAMFS")
	var wg sync.WaitGroup
	errs := make([]error, 20)
	outs := make([][]byte, 20)
	start := time.Now()
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], errs[i] = exec.Command(l.vmm, "boot", "--kernel", micro, "--initrd", image, "--mem", "64M",
				"--cmdline", cmdlineNoRdinit+" vmm.run=/bin/testworkload vmm.arg=0").CombinedOutput()
		}()
	}
	wg.Wait()
	t.Logf("20 VMs booted and powered off in %v (lab time)", time.Since(start).Round(time.Second))
	for i, err := range errs {
		if err != nil || !strings.Contains(string(outs[i]), "poweroff: guest powered off") {
			t.Errorf("VM %d: %v\n%s", i, err, outs[i])
		}
	}
}
