package e2e

import (
	"fmt"
	"github.com/vmmlab/vmm/lab/labenv"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vmmlab/vmm/internal/kvmtest"
)

// KVM maps guest RAM with 2 MiB nested pages when vmm's host mapping
// allows it (host address congruent to the guest address modulo 2 MiB,
// huge host pages). Read from KVM's own counters in debugfs while the
// guest runs: before vmm aligned its mapping, a boot took every page as
// 4 KiB (18,000 nested page faults where QEMU took 400).
func TestGuestRAMOnHugeNestedPages(t *testing.T) {
	l := kernelOnly(t)
	micro := kvmtest.File(t, labenv.EnvMicroKernel)
	image := kvmtest.File(t, labenv.EnvWorkloadInitramfs)
	if err := exec.Command("mount", "-t", "debugfs", "debugfs", "/sys/kernel/debug").Run(); err != nil {
		if _, serr := os.Stat("/sys/kernel/debug/kvm"); serr != nil {
			t.Fatalf("debugfs: %v", err)
		}
	}
	p := startUntil(t, l.vmm, "SLEEPING", 3*time.Minute, "boot", "--kernel", micro, "--initrd", image, "--mem", "256M", "--thp", "on",
		"--cmdline", testWorkload("sleep", "120"))
	defer p.stop()
	cmd := p.cmd
	var small, huge int
	for deadline := time.Now().Add(3 * time.Minute); time.Now().Before(deadline); time.Sleep(time.Second) {
		dir := vmDebugfsDir(cmd.Process.Pid)
		if dir == "" {
			continue
		}
		small, huge = debugfsStat(dir, "pages_4k"), debugfsStat(dir, "pages_2m")
		if huge > 0 && strings.Contains(p.output(), "SLEEPING") {
			break
		}
	}
	t.Logf("nested page table after boot: %d 2 MiB and %d 4 KiB entries", huge, small)
	if huge == 0 {
		t.Errorf("KVM mapped no guest RAM with 2 MiB pages (4 KiB entries: %d)\n%s", small, p.output())
	}
}

// vmDebugfsDir is KVM's debugfs directory of the VM that process pid runs.
// It is named after the thread that created the VM, not the process, so
// it is found by its vCPU thread instead.
func vmDebugfsDir(pid int) string {
	dirs, _ := filepath.Glob("/sys/kernel/debug/kvm/*-*")
	for _, d := range dirs {
		if tid := debugfsStat(filepath.Join(d, "vcpu0"), "pid"); tid > 0 {
			if _, err := os.Stat(fmt.Sprintf("/proc/%d/task/%d", pid, tid)); err == nil {
				return d
			}
		}
	}
	return ""
}

func debugfsStat(dir, name string) int {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return -1
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}
