package e2e

import (
	"github.com/vmmlab/vmm/lab/labenv"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmmlab/vmm/guestinit"
	"github.com/vmmlab/vmm/internal/kvmtest"
)

// The bench's VMs run their userland from a read-only root disk: the
// minimal kernel mounts it itself (root=/dev/vda), the Debian kernel
// through the small initramfs whose vmm-init loads the disk's modules and
// switches to it (vmm.root=/dev/vda). Both boots run /bin/hello from the
// disk and report the workload's status through the ports.
func TestRootDisk(t *testing.T) {
	l := kernelOnly(t)
	assets := kvmtest.File(t, labenv.EnvBench)
	micro := kvmtest.File(t, labenv.EnvMicroKernel)
	disk := filepath.Join(assets, "root.ext4") + ",ro"
	for _, c := range []struct {
		name string
		args []string
	}{
		{"minimal kernel", []string{"--kernel", micro, "--initrd", "none", "--virtio", "mmio",
			"--cmdline", "console=ttyS0 quiet panic=-1 root=/dev/vda ro rootfstype=ext4 init=/init " + taskParams(guestinit.Task{Run: "/bin/hello"})}},
		{"Debian kernel", []string{"--kernel", l.kernel, "--initrd", filepath.Join(assets, "stock.cpio.gz"), "--virtio", "pci",
			"--cmdline", withTask(guestinit.Task{Run: "/bin/hello", Root: &guestinit.Mount{Source: "/dev/vda"}})}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := l.boot(t, input{limit: 3 * time.Minute}, append([]string{"--mem", "256M", "--disk", disk, "--json"}, c.args...)...)
			if r.code != 0 || !strings.Contains(r.out, "VMM-BENCH-READY hello") || !r.result.Booted || r.result.Status == nil || *r.result.Status != 0 {
				t.Fatalf("exit %d, result %v\nconsole:\n%s\nstderr:\n%s", r.code, r.result, r.out, r.stderr)
			}
			if strings.Contains(r.out, "vmm-init: ") && strings.Contains(r.out, "no such file") {
				t.Errorf("the init missed something on the root disk:\n%s", r.out)
			}
		})
	}
}
