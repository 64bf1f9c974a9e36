package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmmlab/vmm/api/apiclient"
	"github.com/vmmlab/vmm/internal/kvmtest"
	"github.com/vmmlab/vmm/lab/labenv"
	"github.com/vmmlab/vmm/runresult"
)

// The control API steers a running VM: GET /vm reports it booted, pause
// holds its vCPUs (no exit reaches vmm while paused), resume lets them
// go, `vmm ctl status` prints the same state, and stop ends the run.
func TestControlAPI(t *testing.T) {
	l := kernelOnly(t)
	micro := kvmtest.File(t, labenv.EnvMicroKernel)
	image := kvmtest.File(t, labenv.EnvWorkloadInitramfs)
	dir := t.TempDir()
	sock := filepath.Join(dir, "api.sock")
	steer := func(ctx context.Context, console *watchBuffer) error {
		for !strings.Contains(console.String(), "SLEEPING") {
			if ctx.Err() != nil {
				return nil
			}
			time.Sleep(100 * time.Millisecond)
		}
		c := apiclient.New(sock, time.Minute)
		s, err := c.Status()
		if err != nil || s.State != "running" || !s.Booted || s.VCPUs != 1 || s.MemoryBytes != 256<<20 {
			return fmt.Errorf("status %+v, %v; want running, booted, 1 vCPU, 256 MiB", s, err)
		}
		if err := c.Pause(); err != nil {
			return err
		}
		if err := c.Pause(); err == nil || !strings.Contains(err.Error(), "(409)") {
			return fmt.Errorf("a second pause: %v, want a 409 conflict", err)
		}
		a, err := c.Status()
		time.Sleep(2 * time.Second) // the guest's timer would cause exits by now
		b, err2 := c.Status()
		if err != nil || err2 != nil || a.State != "paused" || fmt.Sprint(a.Exits) != fmt.Sprint(b.Exits) {
			return fmt.Errorf("paused: %+v then %+v (%v, %v); want paused with no new exits", a, b, err, err2)
		}
		// The idle 256 MiB guest, paused, snapshotted: how long it takes
		// (lab time, for the record; speed is the bench's to judge).
		snap := filepath.Join(dir, "snap")
		info, err := c.Snapshot(snap)
		if err != nil {
			return fmt.Errorf("snapshot of the paused guest: %w", err)
		}
		if _, err := os.Stat(filepath.Join(snap, "manifest.json")); err != nil {
			return fmt.Errorf("snapshot answered %+v but: %w", info, err)
		}
		t.Logf("snapshot of the paused, idle 256 MiB guest: state %.1f ms, memory %.1f ms (%d MiB written), total %.1f ms (lab time)",
			info.StateMS, info.MemoryMS, info.MemoryBytes>>20, info.TotalMS)
		if err := c.Resume(); err != nil {
			return err
		}
		if err := resumeDuringSnapshot(c, sock, filepath.Join(dir, "snap2")); err != nil {
			return err
		}
		out, err := exec.Command(l.vmm, "ctl", "--api-sock", sock, "status").Output()
		var st struct{ State string }
		if err != nil || json.Unmarshal(out, &st) != nil || st.State != "running" {
			return fmt.Errorf("vmm ctl status: %s, %v", out, err)
		}
		return c.Stop()
	}
	r := l.boot(t, input{during: steer, limit: 4 * time.Minute}, "--kernel", micro, "--virtio", "mmio", "--initrd", image, "--mem", "256M",
		"--api-sock", sock, "--cmdline", testWorkload("sleep", "600"))
	if r.result.Reason != runresult.Interrupted || !strings.Contains(r.result.Detail, "control API") {
		t.Fatalf("result %v\nstderr:\n%s", r.result, r.stderr)
	}
}

// resumeDuringSnapshot snapshots the running guest through one client
// while another asks to resume it again and again: every resume must be
// refused, since a guest that ran while its memory was written would be
// saved torn, and the snapshot still said success.
func resumeDuringSnapshot(c *apiclient.Client, sock, snap string) error {
	done := make(chan error, 1)
	go func() {
		_, err := apiclient.New(sock, time.Minute).Snapshot(snap)
		done <- err
	}()
	tries, resumed := 0, 0
	for {
		select {
		case err := <-done:
			if err != nil {
				return fmt.Errorf("snapshot of the running guest: %w", err)
			}
			if resumed > 0 {
				return fmt.Errorf("%d of %d resumes were carried out while the snapshot was written", resumed, tries)
			}
			return nil
		default:
		}
		tries++
		if c.Resume() == nil {
			resumed++
		}
	}
}
