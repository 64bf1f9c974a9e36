package e2e

import (
	"github.com/vmmlab/vmm/lab/labenv"
	"testing"
	"time"

	"github.com/vmmlab/vmm/guestinit"
	"github.com/vmmlab/vmm/internal/kvmtest"
)

// vmm's minimal kernel (guestkernel/) with its disk on virtio-mmio: the
// device is announced on the command line, the guest mounts it, writes a
// file with a known checksum and powers off; a second boot reads the
// checksum back from the read-only disk.
func TestMicroKernelVirtioMMIO(t *testing.T) {
	l := kernelOnly(t)
	micro := kvmtest.File(t, labenv.EnvMicroKernel)
	image := kvmtest.File(t, labenv.EnvWorkloadInitramfs)
	disk := copyFile(t, kvmtest.File(t, labenv.EnvDisk))
	task := func(mode string) string {
		return withTask(guestinit.Task{Run: "/bin/testworkload", Args: []string{mode}, Mounts: mountedAt("/mnt")})
	}
	w := l.boot(t, input{limit: 150 * time.Second}, "--kernel", micro, "--initrd", image, "--mem", "256M",
		"--virtio", "mmio", "--disk", disk, "--cmdline", task("disk-write"))
	if w.code != 0 || field(t, w.out, "DISK-HELLO") != "hello from the host disk" {
		t.Fatalf("write boot: exit %d\nconsole:\n%s\nstderr:\n%s", w.code, w.out, w.stderr)
	}
	r := l.boot(t, input{limit: 150 * time.Second}, "--kernel", micro, "--initrd", image, "--mem", "256M",
		"--virtio", "mmio", "--disk", disk+",ro", "--cmdline", task("disk-read"))
	if r.code != 0 {
		t.Fatalf("read boot: exit %d\nconsole:\n%s\nstderr:\n%s", r.code, r.out, r.stderr)
	}
	if !w.result.Booted || w.result.Status == nil || *w.result.Status != 0 {
		t.Errorf("the guest did not report booted and its status through the ports: %v", w.result)
	}
	if got, want := field(t, r.out, "DISK-READ sha256"), field(t, w.out, "DISK-WROTE sha256"); got != want {
		t.Errorf("read back %s, wrote %s", got, want)
	}
	t.Logf("minimal kernel over virtio-mmio: boot %v ms, %v ms (write, read boots; lab numbers)",
		w.result.BootMS, r.result.BootMS)
}
