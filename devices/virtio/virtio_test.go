package virtio

import (
	"bytes"
	"testing"
)

func TestCopyConfig(t *testing.T) {
	cfg := []byte{1, 2, 3, 4}
	for _, c := range []struct {
		off  uint64
		n    int
		want []byte
	}{
		{0, 4, []byte{1, 2, 3, 4}},
		{2, 4, []byte{3, 4, 0, 0}},
		{4, 2, []byte{0, 0}},
		{^uint64(0), 3, []byte{0, 0, 0}}, // offset + i wraps: still zeros
	} {
		got := bytes.Repeat([]byte{0xee}, c.n)
		CopyConfig(cfg, c.off, got)
		if !bytes.Equal(got, c.want) {
			t.Errorf("CopyConfig(off %d, %d bytes) = %v, want %v", c.off, c.n, got, c.want)
		}
	}
}
