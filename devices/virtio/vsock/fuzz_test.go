package vsock

import (
	"path/filepath"
	"testing"

	"github.com/vmmlab/vmm/devices/virtio/queue"
	"github.com/vmmlab/vmm/memory"
)

// FuzzPackets feeds the device arbitrary packets from the guest, in
// sequence (each a header and what follows it), then drains what it
// would send back. Nothing may panic, and the rx side must never pop a
// buffer it has nothing for.
func FuzzPackets(f *testing.F) {
	req := header{SrcCID: guestCID, DstCID: HostCID, SrcPort: 1, DstPort: 2, Type: typeStream, Op: opRequest, BufAlloc: 100}.encode()
	rw := header{SrcCID: guestCID, DstCID: HostCID, SrcPort: 1, DstPort: 2, Type: typeStream, Op: opRW, Len: 3}.encode()
	f.Add(append(append(req[:], rw[:]...), 'a', 'b', 'c'))
	f.Add(make([]byte, 100))
	f.Fuzz(func(t *testing.T, data []byte) {
		raw := make([]byte, 1<<20)
		mem, err := memory.Wrap(memory.Region{Base: 0, Data: raw})
		if err != nil {
			t.Fatal(err)
		}
		d := &Device{cfg: Config{CID: guestCID, Path: filepath.Join(t.TempDir(), "none"), MaxConns: 4, BufSize: 64},
			wake: make(chan struct{}, 1), conns: map[connKey]*conn{}, active: true, mem: mem}
		defer d.Reset()
		stopped := make(chan struct{})
		close(stopped) // the rx side below always drains: receive never waits
		for len(data) > 0 && len(data) < len(raw) {
			n := min(len(data), hdrSize+int(min(uint32(len(data)), decodeLen(data))))
			copy(raw, data[:n])
			ch := queue.Chain{Readable: []queue.Descriptor{{Addr: 0, Len: uint32(n)}}}
			d.receive(ch, stopped) // errors are fine: malformed packets
			data = data[n:]
			d.mu.Lock()
			for d.pending() {
				ch := queue.Chain{Writable: []queue.Descriptor{{Addr: 0x10000, Len: hdrSize}, {Addr: 0x20000, Len: 4096}}}
				if n, err := d.writePacket(ch); err != nil || n < hdrSize {
					t.Fatalf("pending, but writePacket gave %d bytes, %v", n, err)
				}
			}
			d.mu.Unlock()
		}
	})
}

// decodeLen is the payload length a header at the start of b claims.
func decodeLen(b []byte) uint32 {
	if len(b) < hdrSize {
		return 0
	}
	var h [hdrSize]byte
	copy(h[:], b)
	return decodeHeader(h).Len
}
