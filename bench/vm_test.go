package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
	files := measureFiles(a)
	if files[1].Target != "vm-stock" || files[1].Bytes < 65536+8192 || !strings.Contains(files[1].What, "unpacked") {
		t.Errorf("vm-stock's footprint %+v leaves out the unpacked kernel", files[1])
	}
	a.Unpacked = ""
	if vt := newVMM(a, true).(*vmmTarget); len(vt.extra) != 0 {
		t.Errorf("vm-stock without Unpacked got %q", vt.extra)
	}
	if files := measureFiles(a); files[1].Bytes >= 65536+8192 {
		t.Errorf("vm-stock's footprint %+v counts a cache it does not use", files[1])
	}

}
