package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmmlab/vmm/guestinit"
)

// The guest's task goes on its command line through guestinit, and
// comes back from it as the bench asked.
func TestWorkloadCmdline(t *testing.T) {
	s := Spec{Workload: "http", Args: []string{"-port", "8080"}}
	for _, c := range []struct {
		root       rootDisk
		addr, gw   string
		kernelPart string
	}{
		{diskRoot(), "", "", "root=/dev/vda ro rootfstype=ext4 init=/init"},
		{initrdRoot(), "10.0.2.5/24", "10.0.2.1", ""},
		{pmemRoot(), "", "", "root=/dev/pmem0 ro rootfstype=ext4 rootflags=dax init=/init"},
	} {
		line, err := workloadCmdline(c.root, s, c.addr, c.gw)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(line, guestCmdline+" ") || !strings.Contains(line, c.kernelPart) {
			t.Errorf("%q lacks the common part or %q", line, c.kernelPart)
		}
		task, err := guestinit.ParseCmdline(line)
		if err != nil || task.Run != "/bin/http" || strings.Join(task.Args, " ") != "-port 8080" || (task.Root != nil) != (c.root.init != nil) ||
			c.addr != "" && task.IP.String() != c.addr {
			t.Errorf("%q parsed as %+v, %v", line, task, err)
		}
	}
	if _, err := workloadCmdline(diskRoot(), Spec{Workload: "http", Args: []string{"two words"}}, "", ""); err == nil {
		t.Error("an argument with a space made a command line")
	}
}

// vm-pmem attaches the root disk as a read-only virtio-pmem window, the
// others as a read-only virtio-blk disk.
func TestRootDiskFlags(t *testing.T) {
	if got := strings.Join(pmemRoot().flags("root.ext4"), " "); got != "--pmem root.ext4,ro" {
		t.Errorf("vm-pmem's root: %q", got)
	}
	if got := strings.Join(diskRoot().flags("root.ext4"), " "); got != "--disk root.ext4,ro" {
		t.Errorf("vm's root: %q", got)
	}
}

// vm-pmem is skipped, with the reason, for a root disk that cannot be a
// window and for application images.
func TestPmemTargetCheck(t *testing.T) {
	odd := filepath.Join(t.TempDir(), "root.ext4")
	if err := os.WriteFile(odd, make([]byte, 4096), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := newVMMPmem(Assets{RootDisk: odd}).Check(); err == nil || !strings.Contains(err.Error(), "multiple of 2 MiB") {
		t.Errorf("a 4 KiB root disk: %v", err)
	}
	if err := newVMMPmem(Assets{RootDisk: odd, OCI: &OCIImage{}}).Check(); err == nil || !strings.Contains(err.Error(), "application image") {
		t.Errorf("an application image: %v", err)
	}
}
