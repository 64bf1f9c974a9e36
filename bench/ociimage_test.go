package bench

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/vmmlab/vmm/bench/results"
	"github.com/vmmlab/vmm/guestinit"
)

func TestParseReady(t *testing.T) {
	if got, err := ParseReady("log:Ready to accept connections"); err != nil || got != "Ready to accept connections" {
		t.Errorf("log: %q, %v", got, err)
	}
	for _, bad := range []string{"", "log:", "tcp:6379", "http:80/", "port:1", "Ready"} {
		if _, err := ParseReady(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// With an image, the targets that cannot run one yet say so in Check
// (the report then lists them as skipped), and the VMs' command
// line asks vmm-init for an overlay root over the image's disk.
func TestImageTargets(t *testing.T) {
	a := Assets{OCI: &OCIImage{Name: "vmm.local/redis"}, QEMU: "/usr/bin/qemu-system-x86_64"}
	for _, tg := range []Target{newProcess(a), newVMMRestore(a)} {
		if err := tg.Check(); err == nil || !strings.Contains(err.Error(), "does not run OCI images yet") {
			t.Errorf("%s: Check %v", tg.Name(), err)
		}
	}
	// docker loads the image file itself: a name in vmm's store will not do
	if err := newDocker(a, t.TempDir(), false).Check(); err == nil || !strings.Contains(err.Error(), "give the image file") {
		t.Errorf("docker: Check %v", err)
	}
	line, err := imageCmdline()
	if err != nil {
		t.Fatal(err)
	}
	task, err := guestinit.ParseCmdline(line)
	if err != nil || task.Root == nil || task.Root.Source != "/dev/vda" || task.Upper == "" || !strings.HasPrefix(line, guestCmdline) {
		t.Errorf("%q: %+v, %v", line, task, err)
	}
}

// The start benchmark runs an image's server under crun on the image's
// layers, ready at its own log line, stops it right there (it would
// never end by itself), and leaves no root behind.
func TestStartImageUnderCrun(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("containers need root")
	}
	busybox, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Skip("needs a static busybox (busybox-static)")
	}
	layer := t.TempDir()
	os.MkdirAll(filepath.Join(layer, "bin"), 0o755)
	os.WriteFile(filepath.Join(layer, "bin/busybox"), busybox, 0o755)
	os.Symlink("busybox", filepath.Join(layer, "bin/sh"))
	state := t.TempDir()
	a := Assets{OCI: &OCIImage{Name: "test", Layers: []string{layer}, Ready: "IMAGE-READY",
		Process: specs.Process{Args: []string{"/bin/sh", "-c", "echo IMAGE-READY; exec sleep 600"}, Cwd: "/", Env: []string{"PATH=/bin"}}}}
	tg := newRuntime(a, results.TargetCrun, state, false)
	if err := tg.Check(); err != nil {
		t.Skipf("crun: %v", err)
	}
	res := runStart(context.Background(), []Target{tg}, startConfig{Workload: "test (OCI image)", Runs: 1, MemMiB: 64, CPUs: 1,
		Timeout: time.Minute, ExitGrace: time.Millisecond, StopAtReady: true})
	if len(res.Samples) != 1 || res.Samples[0].Error != "" || res.Samples[0].Note != "" || res.Samples[0].ReadyMS <= 0 {
		t.Fatalf("samples %+v", res.Samples)
	}
	if left, _ := os.ReadDir(filepath.Join(state, "image-roots")); len(left) != 0 {
		t.Errorf("image roots left behind: %v", left)
	}
	if err := tg.(*ctrTarget).Close(); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(state); len(left) != 0 {
		t.Errorf("the state directory holds %v after Close", left)
	}
}
