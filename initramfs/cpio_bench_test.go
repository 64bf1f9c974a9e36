package initramfs

import (
	"fmt"
	"io"
	"testing"
)

// BenchmarkWriteTo writes an image of 200 files of 64 KiB (about the
// u-root userland's shape) to a discarding writer.
func BenchmarkWriteTo(b *testing.B) {
	var a Archive
	data := make([]byte, 64<<10)
	for i := range 200 {
		if err := a.AddFile(fmt.Sprintf("bin/f%03d", i), 0o755, data); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(200 * 64 << 10)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.WriteTo(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}
