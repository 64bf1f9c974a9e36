// Package blktest gives transport tests a small virtio-blk device to drive.
package blktest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/vmmlab/vmm/devices/virtio/blk"
)

// Disk is a 4 KiB virtio-blk disk (8 sectors) whose sector 1 is filled
// with 0xab and the rest with zeros; it is closed when the test ends.
func Disk(t testing.TB) *blk.Device {
	t.Helper()
	p := filepath.Join(t.TempDir(), "disk")
	data := make([]byte, 4096)
	for i := 512; i < 1024; i++ {
		data[i] = 0xab
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := blk.Open(p, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}
