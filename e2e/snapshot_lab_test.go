package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vmmlab/vmm/api/apiclient"
	"github.com/vmmlab/vmm/internal/kvmtest"
	"github.com/vmmlab/vmm/lab/labenv"
)

// vmmProc is a vmm process whose console the test watches.
type vmmProc struct {
	cmd     *exec.Cmd
	console *watchBuffer
	stderr  bytes.Buffer
	started time.Time
}

func startVMM(t *testing.T, vmm string, args ...string) *vmmProc {
	t.Helper()
	p := &vmmProc{console: &watchBuffer{}}
	p.cmd = exec.Command(vmm, args...)
	p.cmd.Stdout, p.cmd.Stderr = p.console, &p.stderr
	p.started = time.Now()
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			p.cmd.Wait()
		}
	})
	return p
}

var countLine = regexp.MustCompile(`(?m)^COUNT (\d+) (\d+)\r?$`)

// counts are the COUNT lines the guest printed: values and guest clock.
func (p *vmmProc) counts() (n, clock []int64) {
	for _, m := range countLine.FindAllStringSubmatch(p.console.String(), -1) {
		a, _ := strconv.ParseInt(m[1], 10, 64)
		b, _ := strconv.ParseInt(m[2], 10, 64)
		n, clock = append(n, a), append(clock, b)
	}
	return n, clock
}

// waitCount waits until the guest printed at least k COUNT lines and
// returns how long that took from vmm's start.
func (p *vmmProc) waitCount(t *testing.T, k int, limit time.Duration) time.Duration {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		if n, _ := p.counts(); len(n) >= k {
			return time.Since(p.started)
		}
		if p.cmd.ProcessState != nil || time.Now().After(deadline) {
			t.Fatalf("no %d COUNT lines within %v\nconsole:\n%s\nstderr:\n%s", k, limit, p.console.String(), p.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A guest counting on its console is snapshotted through the control
// API and restored twice at once: both clones go on counting from the
// snapshot's value (not from 1), their clocks do not go backwards, and a
// corrupt snapshot is refused with one line and exit 1.
func TestSnapshotRestore(t *testing.T) {
	l := kernelOnly(t)
	micro := kvmtest.File(t, labenv.EnvMicroKernel)
	image := kvmtest.File(t, labenv.EnvWorkloadInitramfs)
	dir := t.TempDir()
	sock, snap := filepath.Join(dir, "api.sock"), filepath.Join(dir, "snap")
	bootArgs := []string{"boot", "--kernel", micro, "--virtio", "mmio", "--initrd", image, "--mem", "128M",
		"--cmdline", cmdlineNoRdinit + " vmm.run=/bin/testworkload vmm.arg=count vmm.arg=200"}
	cold := startVMM(t, l.vmm, append(bootArgs, "--api-sock", sock)...)
	coldReady := cold.waitCount(t, 1, 3*time.Minute)
	cold.waitCount(t, 5, time.Minute)
	info, err := apiclient.New(sock, 5*time.Minute).Snapshot(snap)
	if err != nil {
		t.Fatalf("snapshot: %v\nstderr:\n%s", err, cold.stderr.String())
	}
	before, beforeClock := cold.counts()
	t.Logf("snapshot of a 128 MiB guest: pause %.1f ms, state %.1f ms, memory %.1f ms (%d MiB written), total %.1f ms (lab time)",
		info.PauseMS, info.StateMS, info.MemoryMS, info.MemoryBytes>>20, info.TotalMS)
	cold.cmd.Process.Signal(syscall.SIGTERM)
	cold.cmd.Wait()
	last := before[len(before)-1]

	clones := []*vmmProc{startVMM(t, l.vmm, "restore", snap, "--json"), startVMM(t, l.vmm, "restore", snap, "--json")}
	var restoreReady []time.Duration
	for i, c := range clones {
		restoreReady = append(restoreReady, c.waitCount(t, 3, 3*time.Minute))
		n, clock := c.counts()
		// The counter goes on: the first value is the snapshot's next (or
		// one it was about to print), never a restart from 1.
		if n[0] < last-1 || n[0] > last+2 || n[1] != n[0]+1 {
			t.Errorf("clone %d counts %v after a snapshot at %d", i, n, last)
		}
		if clock[0] < beforeClock[len(beforeClock)-1] {
			t.Errorf("clone %d: the guest clock went back from %d to %d ms", i, beforeClock[len(beforeClock)-1], clock[0])
		}
	}
	t.Logf("launch to the first COUNT line (lab time): cold boot %v, restore %v and %v (ratio %.2f)",
		coldReady.Round(time.Millisecond), restoreReady[0].Round(time.Millisecond), restoreReady[1].Round(time.Millisecond),
		float64(restoreReady[0])/float64(coldReady))
	for _, c := range clones {
		c.cmd.Process.Signal(syscall.SIGTERM)
		c.cmd.Wait()
	}

	// A truncated state file: one line, exit 1, no guest.
	bad := filepath.Join(dir, "bad")
	os.MkdirAll(bad, 0o755)
	for _, f := range []string{"manifest.json", "state.json", "memory"} {
		b, _ := os.ReadFile(filepath.Join(snap, f))
		if f == "state.json" {
			b = b[:len(b)/2]
		}
		os.WriteFile(filepath.Join(bad, f), b, 0o600)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, l.vmm, "restore", bad).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || strings.Count(strings.TrimSpace(string(out)), "\n") != 0 {
		t.Errorf("restore of a truncated snapshot: %v\n%s", err, out)
	}
	t.Logf("a truncated snapshot: %s", strings.TrimSpace(string(out)))
}
