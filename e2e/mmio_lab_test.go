package e2e

import (
	"github.com/vmmlab/vmm/lab/labenv"
	"testing"
	"time"

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
	base := cmdlineNoRdinit + " vmm.mount=/dev/vda:/mnt vmm.run=/bin/testworkload"
	w := l.boot(t, input{limit: 150 * time.Second}, "--kernel", micro, "--initrd", image, "--mem", "256M",
		"--virtio", "mmio", "--disk", disk, "--cmdline", base+" vmm.arg=disk-write")
	if w.code != 0 || field(t, w.out, "DISK-HELLO") != "hello from the host disk" {
		t.Fatalf("write boot: exit %d\nconsole:\n%s\nstderr:\n%s", w.code, w.out, w.stderr)
	}
	r := l.boot(t, input{limit: 150 * time.Second}, "--kernel", micro, "--initrd", image, "--mem", "256M",
		"--virtio", "mmio", "--disk", disk+",ro", "--cmdline", base+" vmm.arg=disk-read")
	if r.code != 0 {
		t.Fatalf("read boot: exit %d\nconsole:\n%s\nstderr:\n%s", r.code, r.out, r.stderr)
	}
	if w.result["booted"] != true || w.result["guest_status"] != float64(0) {
		t.Errorf("the guest did not report booted and its status through the ports: %v", w.result)
	}
	if got, want := field(t, r.out, "DISK-READ sha256"), field(t, w.out, "DISK-WROTE sha256"); got != want {
		t.Errorf("read back %s, wrote %s", got, want)
	}
	t.Logf("minimal kernel over virtio-mmio: boot %v ms, %v ms (write, read boots; lab numbers)",
		w.result["boot_ms"], r.result["boot_ms"])
}
