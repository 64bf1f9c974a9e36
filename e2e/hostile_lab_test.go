package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vmmlab/vmm/internal/kvmtest"
	"github.com/vmmlab/vmm/lab/labenv"
	"github.com/vmmlab/vmm/runresult"
)

// A hostile guest (testworkload hammer) writes garbage to every device
// for 60 s: the virtio-pci registers with its drivers unbound, PCI
// configuration space, ports and MMIO pages no device has. vmm's resident
// memory stays within its idle size + 32 MiB, and `vmm ctl stop` ends it
// within 5 s.
func TestHostileGuest(t *testing.T) {
	l := kernelOnly(t)
	image := kvmtest.File(t, labenv.EnvWorkloadInitramfs)
	dir := t.TempDir()
	sock, uds := filepath.Join(dir, "api.sock"), filepath.Join(dir, "v.sock")
	disk := copyFile(t, kvmtest.File(t, labenv.EnvDisk))
	const hammerFor, margin = 60 * time.Second, 32 << 20
	var idle, peak int64
	steer := func(ctx context.Context, console *watchBuffer) error {
		if !waitConsole(ctx, console, "HAMMER-READY") {
			return nil // the boot's own checks say why
		}
		pid, err := pidWithArg(sock)
		if err != nil {
			return err
		}
		idle = rssBytes(pid)
		if !waitConsole(ctx, console, "HAMMER-START") {
			return nil
		}
		for end := time.Now().Add(hammerFor); time.Now().Before(end) && ctx.Err() == nil; time.Sleep(500 * time.Millisecond) {
			peak = max(peak, rssBytes(pid))
		}
		if out, err := exec.Command(l.vmm, "ctl", "--api-sock", sock, "stop").CombinedOutput(); err != nil {
			return fmt.Errorf("vmm ctl stop: %v: %s", err, out)
		}
		stopped := time.Now()
		for !processEnded(pid) {
			if time.Since(stopped) > 5*time.Second {
				return fmt.Errorf("vmm still runs 5 s after vmm ctl stop")
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Logf("vmm ended %v after vmm ctl stop", time.Since(stopped).Round(time.Millisecond))
		return nil
	}
	r := l.boot(t, input{during: steer, limit: 4 * time.Minute}, "--kernel", l.kernel, "--initrd", image, "--mem", "256M",
		"--disk", disk, "--rng", "on", "--balloon", "on", "--vsock", "cid=3,uds="+uds, "--api-sock", sock,
		"--cmdline", testWorkload("hammer", strconv.Itoa(int(hammerFor.Seconds()))))
	if !strings.Contains(r.out, "HAMMER-START") || r.result.Reason != runresult.Interrupted || !strings.Contains(r.result.Detail, "control API") {
		t.Fatalf("the hostile guest's run: result %v\nconsole:\n%s\nstderr:\n%s", r.result, r.out, r.stderr)
	}
	t.Logf("vmm's resident memory: %d KiB idle, %d KiB at most while the guest hammered; devices that gave up: %v; exits: %v",
		idle>>10, peak>>10, r.result.Failures, r.result.Exits)
	if peak > idle+margin {
		t.Errorf("vmm grew from %d KiB idle to %d KiB under the hostile guest (allowed: idle + %d MiB)", idle>>10, peak>>10, margin>>20)
	}
}

// waitConsole waits for marker on the console, or for ctx.
func waitConsole(ctx context.Context, console *watchBuffer, marker string) bool {
	for !strings.Contains(console.String(), marker) {
		if ctx.Err() != nil {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
	return true
}

// pidWithArg finds the process whose command line holds arg.
func pidWithArg(arg string) (int, error) {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if b, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline")); bytes.Contains(b, []byte(arg+"\x00")) {
			return pid, nil
		}
	}
	return 0, fmt.Errorf("no process with %s on its command line", arg)
}

// rssBytes is a process's resident set (VmRSS), 0 once it is gone.
func rssBytes(pid int) int64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kib, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kib << 10
		}
	}
	return 0
}

// processEnded says whether pid has exited (gone, or a zombie its parent
// has not waited for yet).
func processEnded(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] == 'Z' || s[i+2] == 'X'
}
