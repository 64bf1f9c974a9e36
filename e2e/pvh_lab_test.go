package e2e

import (
	"github.com/vmmlab/vmm/lab/labenv"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmmlab/vmm/internal/kvmtest"
)

// The minimal kernel boots both as its bzImage (64-bit boot protocol,
// decompressing itself) and as its uncompressed vmlinux through the PVH
// entry point (32-bit, no decompression), to the same workload; the log
// shows the boot time of each, measured in the same lab boot.
func TestPVHBoot(t *testing.T) {
	l := kernelOnly(t)
	image := kvmtest.File(t, labenv.EnvWorkloadInitramfs)
	kernels := map[string]string{"bzImage": kvmtest.File(t, labenv.EnvMicroKernel), "vmlinux (PVH)": kvmtest.File(t, labenv.EnvMicroVmlinux)}
	times := map[string][]float64{}
	for round := range 2 {
		for _, name := range []string{"bzImage", "vmlinux (PVH)"} {
			r := l.boot(t, input{limit: 150 * time.Second}, "--kernel", kernels[name], "--initrd", image, "--mem", "256M",
				"--virtio", "mmio", "--cmdline", testWorkload("0"))
			if r.code != 0 || field(t, r.out, "WORKLOAD-HELLO args") != `["0"]` || !r.result.Booted {
				t.Fatalf("%s, round %d: exit %d\nconsole:\n%s\nstderr:\n%s", name, round, r.code, r.out, r.stderr)
			}
			times[name] = append(times[name], r.result.BootMS)
		}
	}
	t.Logf("boot to workload, ms (lab time, two rounds): bzImage %v, vmlinux (PVH) %v", times["bzImage"], times["vmlinux (PVH)"])
}

// Debian's bzImage boots unpacked: the first boot with --unpack-kernel
// has vmm-tools unpack it on the host (xz, with the x86 filter) into the
// cache, the second maps it from there; both enter the kernel at its PVH
// entry point and run the workload. The log shows the boot times beside
// the bzImage's own, from the same lab boot.
func TestUnpackKernel(t *testing.T) {
	l := kernelOnly(t)
	image := kvmtest.File(t, labenv.EnvWorkloadInitramfs)
	cache := t.TempDir()
	args := []string{"--kernel", l.kernel, "--initrd", image, "--mem", "256M", "--cmdline", testWorkload("0")}
	var times []any // boot times, ms
	// The first boot unpacks ("unpacked now"), unless the lab retried it
	// after one of its faults: then the retry found it unpacked.
	for i, want := range []string{"unpacked", "unpacked before", ""} {
		extra := []string{"--unpack-kernel", cache}
		if want == "" {
			extra = nil // the bzImage through its own decompressor, for comparison
		}
		r := l.boot(t, input{limit: 150 * time.Second}, append(extra, args...)...)
		if r.code != 0 || field(t, r.out, "WORKLOAD-HELLO args") != `["0"]` || !r.result.Booted {
			t.Fatalf("boot %d: exit %d\nconsole:\n%s\nstderr:\n%s", i, r.code, r.out, r.stderr)
		}
		if want != "" && (!strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, "PVH entry point")) {
			t.Fatalf("boot %d: stderr does not say %q and the PVH entry:\n%s", i, want, r.stderr)
		}
		if want == "" && strings.Contains(r.stderr, "PVH entry point") {
			t.Fatalf("boot %d without --unpack-kernel went through the PVH entry:\n%s", i, r.stderr)
		}
		if i == 0 {
			if kept, _ := filepath.Glob(filepath.Join(cache, "*.vmlinux")); len(kept) != 1 {
				t.Fatalf("after the first boot the cache holds %v, want one unpacked kernel", kept)
			}
		}
		times = append(times, r.result.BootMS)
	}
	t.Logf("boot to workload, ms (lab time): unpacking %v, unpacked before %v, the bzImage as it is %v", times...)
}
