//go:build loadtest

package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/vmmlab/vmm/internal/kvmtest"
	"github.com/vmmlab/vmm/lab/labenv"
)

// TestRNGLargeReads repeats the 1 MiB /dev/hwrng read that hung two of
// four times in the lab (the guest looping on a page fault whose walk
// left its RAM), on both kernels, with and without the device's rate
// limit. It is an experiment: a hung guest is stopped with SIGTERM and
// vmm's stop report (each vCPU's registers and the page walk of its
// instruction pointer) goes into the log, which says whether the guest's
// CR3 or one of its page table entries points outside its RAM.
func TestRNGLargeReads(t *testing.T) {
	l := kernelOnly(t)
	micro := kvmtest.File(t, labenv.EnvMicroKernel)
	image := kvmtest.File(t, labenv.EnvWorkloadInitramfs)
	cmdline := cmdlineNoRdinit + " vmm.run=/bin/testworkload vmm.arg=hwrng vmm.arg=1048576"
	for round := range 3 {
		for _, c := range []struct {
			name string
			args []string
		}{
			{"micro-mmio", []string{"--kernel", micro, "--virtio", "mmio"}},
			{"debian-pci", []string{"--kernel", l.kernel}},
		} {
			t.Run(fmt.Sprintf("%s-%d", c.name, round), func(t *testing.T) {
				r := l.boot(t, input{limit: 150 * time.Second}, append(c.args, "--initrd", image, "--mem", "256M", "--rng", "rate=0", "--cmdline", cmdline)...)
				if r.code != 0 {
					t.Fatalf("exit %d\nstderr:\n%s", r.code, r.stderr)
				}
				t.Logf("1 MiB in %s ms", field(t, r.out, "HWRNG-MS"))
			})
		}
	}
}
