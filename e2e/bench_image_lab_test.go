package e2e

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vmmlab/vmm/bench/results"
	"github.com/vmmlab/vmm/internal/kvmtest"
	"github.com/vmmlab/vmm/lab/labenv"
)

// vmm bench start --oci-image runs the application images of make images
// (their docker save files) with the ready condition of their own
// label: redis at its log line on both kernels under vmm and under
// QEMU, under crun, runc and docker; nginx at its first HTTP answer on
// the bench's bridge under vmm and QEMU (the minimal kernel), crun and
// runc, with the targets that do not join that bridge listed as skipped. (runsc's sandbox cannot
// pivot_root out of this outer guest's initramfs root; make bench moves
// that root onto a tmpfs first and runs runsc there.)
func TestBenchStartImage(t *testing.T) {
	kvmtest.Open(t)
	for _, c := range []struct {
		image            string
		targets, skipped []string
	}{
		{"redis", []string{"vm", "vm-stock", "qemu", "qemu-stock", "crun", "runc", "docker"}, []string{"process"}},
		{"nginx", []string{"vm", "qemu", "crun", "runc"}, []string{"docker", "process"}},
	} {
		t.Run(c.image, func(t *testing.T) { benchImage(t, c.image, c.targets, c.skipped) })
	}
}

func benchImage(t *testing.T, image string, targets, skipped []string) {
	vmm := kvmtest.File(t, labenv.EnvVMM)
	assets := kvmtest.File(t, labenv.EnvBench)
	micro, stock := kvmtest.File(t, labenv.EnvMicroKernel), kvmtest.File(t, labenv.EnvKernel)
	file := filepath.Join(kvmtest.File(t, labenv.EnvImages), image+".tar")
	tr := startKVMTrace(t)
	out := retryLabFault(t, tr, "vmm bench start --oci-image "+image, labTries, func() (string, string, bool) {
		out := filepath.Join(t.TempDir(), "run")
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, vmm, "bench", "start", "--assets", assets, "--kernel", micro, "--stock-kernel", stock,
			"--no-pivot", "--nested", "--targets", strings.Join(append(slices.Clone(targets), skipped...), ","), "--runs", "1", "--warmup", "0",
			"--oci-image", file, "--out", out)
		log := &watchBuffer{}
		cmd.Stdout = io.MultiWriter(os.Stdout, log)
		cmd.Stderr = cmd.Stdout
		if err := cmd.Run(); err != nil {
			t.Fatalf("vmm bench start --oci-image %s: %v\n%s", image, err, log.String())
		}
		failures := benchFailures(t, out)
		return out, log.String() + strings.Join(failures, "\n"), len(failures) > 0
	})
	r, err := results.ReadResults(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.Start.Workload, image+".tar") {
		t.Errorf("workload %q", r.Start.Workload)
	}
	for _, target := range targets {
		ss := r.Start.Counted(target)
		if len(ss) != 1 || r.Start.Failures(target) != 0 {
			t.Errorf("%s: %d counted runs, %d failures, want 1 and 0: %+v", target, len(ss), r.Start.Failures(target), r.Start.Samples)
		}
		for _, s := range ss {
			if s.ReadyMS <= 0 || s.Note != "" || !hasPhase(s.Phases, "ready") {
				t.Errorf("%s sample %+v", target, s)
			}
		}
	}
	var got []string
	for _, s := range r.Skipped {
		got = append(got, s.Target)
	}
	if slices.Sort(got); !slices.Equal(got, slices.Sorted(slices.Values(skipped))) {
		t.Errorf("skipped %+v, want %v", r.Skipped, skipped)
	}
	if len(r.Teardown) != 0 {
		t.Errorf("left behind: %v", r.Teardown)
	}
}
