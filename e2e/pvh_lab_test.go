package e2e

import (
	"github.com/vmmlab/vmm/lab/labenv"
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
	times := map[string][]any{}
	for round := range 2 {
		for _, name := range []string{"bzImage", "vmlinux (PVH)"} {
			r := l.boot(t, input{limit: 150 * time.Second}, "--kernel", kernels[name], "--initrd", image, "--mem", "256M",
				"--virtio", "mmio", "--cmdline", cmdlineNoRdinit+" vmm.run=/bin/testworkload vmm.arg=0")
			if r.code != 0 || field(t, r.out, "WORKLOAD-HELLO args") != `["0"]` || r.result["booted"] != true {
				t.Fatalf("%s, round %d: exit %d\nconsole:\n%s\nstderr:\n%s", name, round, r.code, r.out, r.stderr)
			}
			times[name] = append(times[name], r.result["boot_ms"])
		}
	}
	t.Logf("boot to workload, ms (lab time, two rounds): bzImage %v, vmlinux (PVH) %v", times["bzImage"], times["vmlinux (PVH)"])
}
