package container

import (
	"github.com/vmmlab/vmm/lab/labenv"
	"path/filepath"
	"testing"

	"github.com/vmmlab/vmm/cgroup"
	"github.com/vmmlab/vmm/internal/kvmtest"
)

// The runtime tests again on a pure cgroup v2 host: the lab's outer guest
// mounts cgroup2 at /sys/fs/cgroup (this project's own machines are v1
// hybrid). crun needs no work-around there. The outer guest's / is an
// initramfs, where pivot_root fails, so the runtimes use --no-pivot.
func TestRuntimesOnCgroupV2(t *testing.T) {
	workload := kvmtest.File(t, labenv.EnvTestWorkload)
	mode, err := cgroup.DetectMode(cgroup.Root)
	if err != nil || mode != cgroup.V2 {
		t.Fatalf("cgroup layout %v %v, want v2", mode, err)
	}
	rootfs, err := Rootfs(filepath.Join(t.TempDir(), "cache"), []string{workload})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"crun", "runc"} {
		t.Run(name, func(t *testing.T) {
			r := runtimeFor(t, name)
			if r.ns != nil {
				t.Errorf("%s needs the hybrid work-around on cgroup v2: %s", name, r.Workaround())
			}
			if !r.NoPivot { // detected: the lab's outer guest runs from its initramfs
				t.Errorf("%s: / is the initramfs here, yet pivot_root would be used", name)
			}
			t.Run("marker and exit status", func(t *testing.T) { testMarkerAndExit(t, r, rootfs) })
			t.Run("memory limit", func(t *testing.T) { testMemoryLimit(t, r, rootfs) })
			t.Run("cancel", func(t *testing.T) { testCancel(t, r, rootfs) })
		})
	}
}
