package e2e

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmmlab/vmm/bench/results"
	"github.com/vmmlab/vmm/internal/kvmtest"
	"github.com/vmmlab/vmm/lab/labenv"
)

// vmm bench start --oci-image runs the redis image of make images (its
// docker save file) on both kernels under vmm and under QEMU, under
// crun, runc and docker, each ready at redis's own log line, and says
// which targets cannot run an image yet. (runsc's sandbox cannot
// pivot_root out of this outer guest's initramfs root; make bench moves
// that root onto a tmpfs first and runs runsc there.)
func TestBenchStartImage(t *testing.T) {
	kvmtest.Open(t)
	vmm := kvmtest.File(t, labenv.EnvVMM)
	assets := kvmtest.File(t, labenv.EnvBench)
	micro, stock := kvmtest.File(t, labenv.EnvMicroKernel), kvmtest.File(t, labenv.EnvKernel)
	redis := filepath.Join(kvmtest.File(t, labenv.EnvImages), "redis.tar")
	targets := []string{"vm", "vm-stock", "qemu", "qemu-stock", "crun", "runc", "docker"}
	tr := startKVMTrace(t)
	out := retryLabFault(t, tr, "vmm bench start --oci-image", labTries, func() (string, string, bool) {
		out := filepath.Join(t.TempDir(), "run")
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, vmm, "bench", "start", "--assets", assets, "--kernel", micro, "--stock-kernel", stock,
			"--no-pivot", "--nested", "--targets", strings.Join(targets, ",")+",process", "--runs", "1", "--warmup", "0",
			"--oci-image", redis, "--ready", "log:Ready to accept connections", "--out", out)
		log := &watchBuffer{}
		cmd.Stdout = io.MultiWriter(os.Stdout, log)
		cmd.Stderr = cmd.Stdout
		if err := cmd.Run(); err != nil {
			t.Fatalf("vmm bench start --oci-image: %v\n%s", err, log.String())
		}
		failures := benchFailures(t, out)
		return out, log.String() + strings.Join(failures, "\n"), len(failures) > 0
	})
	r, err := results.ReadResults(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.Start.Workload, "redis.tar") {
		t.Errorf("workload %q", r.Start.Workload)
	}
	for _, target := range targets {
		ss := r.Start.Counted(target)
		if len(ss) != 1 || r.Start.Failures(target) != 0 {
			t.Errorf("%s: %d counted runs, %d failures, want 1 and 0: %+v", target, len(ss), r.Start.Failures(target), r.Start.Samples)
		}
		for _, s := range ss {
			if s.ReadyMS <= 0 || s.Note != "" {
				t.Errorf("%s sample %+v", target, s)
			}
		}
	}
	if len(r.Skipped) != 1 || r.Skipped[0].Target != results.TargetProcess {
		t.Errorf("skipped %+v, want process (it runs no image)", r.Skipped)
	}
	if len(r.Teardown) != 0 {
		t.Errorf("left behind: %v", r.Teardown)
	}
}
