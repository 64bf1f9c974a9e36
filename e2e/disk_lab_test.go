package e2e

import (
	"github.com/vmmlab/vmm/lab/labenv"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmmlab/vmm/guestinit"
	"github.com/vmmlab/vmm/internal/kvmtest"
)

func copyFile(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return dst
}

// A virtio-blk disk: the guest mounts the host's ext4 image, reads the
// file the host put there, writes one with a known checksum and powers off;
// a second boot with the disk read-only finds the same checksum (nothing
// lost) and cannot write. The first boot's disk uses MSI-X, the second's
// INTx (pci=nomsi).
func TestVirtioBlkDisk(t *testing.T) {
	l := kernelOnly(t)
	image := kvmtest.File(t, labenv.EnvWorkloadInitramfs)
	disk := copyFile(t, kvmtest.File(t, labenv.EnvDisk))
	task := func(mode string) string {
		return withTask(guestinit.Task{Run: "/bin/testworkload", Args: []string{mode}, Mounts: mountedAt("/mnt")})
	}
	w := l.boot(t, input{limit: 150 * time.Second}, "--kernel", l.kernel, "--initrd", image, "--mem", "256M",
		"--disk", disk, "--cmdline", task("disk-write"))
	if w.code != 0 || field(t, w.out, "DISK-HELLO") != "hello from the host disk" {
		t.Fatalf("write boot: exit %d\nconsole:\n%s\nstderr:\n%s", w.code, w.out, w.stderr)
	}
	wrote := field(t, w.out, "DISK-WROTE sha256")

	// pci=nomsi: this boot's disk interrupts through INTx instead of MSI-X.
	r := l.boot(t, input{limit: 150 * time.Second}, "--kernel", l.kernel, "--initrd", image, "--mem", "256M",
		"--disk", disk+",ro", "--cmdline", "pci=nomsi "+task("disk-read"))
	if r.code != 0 {
		t.Fatalf("read boot: exit %d\nconsole:\n%s\nstderr:\n%s", r.code, r.out, r.stderr)
	}
	if got := field(t, r.out, "DISK-READ sha256"); got != wrote {
		t.Errorf("read back sha256 %s, wrote %s", got, wrote)
	}
	if !strings.Contains(r.out, "DISK-RO-REFUSED") {
		t.Errorf("a write to the read-only disk was not refused; console:\n%s", r.out)
	}
	t.Logf("guest disk throughput (8 MiB, lab numbers): write+fsync %s MB/s, read %s MB/s",
		field(t, w.out, "DISK-WRITE-MBPS"), field(t, r.out, "DISK-READ-MBPS"))
}
