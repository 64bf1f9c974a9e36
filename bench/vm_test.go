package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmmlab/vmm/bench/workload"
)

// With Assets.Unpacked, vm-stock boots with --unpack-kernel, says so in
// its version (which the report reads: report.TestVMStockUnpacked), and the unpacked kernel counts
// in its footprint; without it, vm-stock boots the bzImage as it is.
func TestVMStockUnpacked(t *testing.T) {
	dir := t.TempDir()
	a := Assets{StockKernel: filepath.Join(dir, "bzImage"), Unpacked: filepath.Join(dir, "unpacked")}
	if err := os.MkdirAll(a.Unpacked, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(a.StockKernel, make([]byte, 8192), 0o644)
	os.WriteFile(filepath.Join(a.Unpacked, "k.vmlinux"), make([]byte, 65536), 0o644)
	vt := newVMM(a, true).(*vmmTarget)
	if strings.Join(vt.extra, " ") != "--unpack-kernel "+a.Unpacked {
		t.Errorf("vm-stock's extra flags %q", vt.extra)
	}
	if vt := newVMM(a, false).(*vmmTarget); len(vt.extra) != 0 {
		t.Errorf("vm (the minimal kernel, decompressing itself in a blink: LZ4) got %q", vt.extra)
	}
	files := measureFiles(a, true)
	if files[1].Target != "vm-stock" || files[1].Bytes < 65536+8192 || !strings.Contains(files[1].What, "unpacked") {
		t.Errorf("vm-stock's footprint %+v leaves out the unpacked kernel", files[1])
	}
	a.Unpacked = ""
	if vt := newVMM(a, true).(*vmmTarget); len(vt.extra) != 0 {
		t.Errorf("vm-stock without Unpacked got %q", vt.extra)
	}
	if files := measureFiles(a, true); files[1].Bytes >= 65536+8192 {
		t.Errorf("vm-stock's footprint %+v counts a cache it does not use", files[1])
	}
	if files := measureFiles(a, false); len(files) != 1 || files[0].Target != "containers" {
		t.Errorf("a run with no VM measures VM files: %+v", files)
	}

}

// The kernels and root disk are wanted only when a VM target runs.
func TestAssetsVMsOnlyForVMs(t *testing.T) {
	dir := t.TempDir()
	a := Assets{Image: filepath.Join(dir, "bench.cpio.gz"), Rootfs: dir, Workloads: dir}
	os.WriteFile(a.Image, nil, 0o644)
	for _, w := range workload.Names() {
		os.WriteFile(filepath.Join(dir, w), nil, 0o755)
	}
	if err := a.Check(false); err != nil {
		t.Errorf("containers alone: %v", err)
	}
	if err := a.Check(true); err == nil || !strings.Contains(err.Error(), "minimal kernel") {
		t.Errorf("VMs without kernels: %v", err)
	}
	if NeedsVMs([]string{"crun", "runc", "process"}) || !NeedsVMs([]string{"crun", "vm-stock"}) || !NeedsVMs([]string{"all"}) || !NeedsVMs([]string{"qemu"}) {
		t.Error("NeedsVMs is wrong")
	}
}
