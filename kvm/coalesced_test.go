package kvm

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// fakeRing is a ring page written the way KVM's coalesced_mmio_write
// does: the entry at last, then last moved on; no entry when full.
type fakeRing struct{ page []byte }

func newFakeRing() (*fakeRing, *CoalescedRing) {
	page := make([]byte, ringPage)
	return &fakeRing{page}, &CoalescedRing{page: page, unmap: func([]byte) error { return nil }}
}

func (f *fakeRing) push(addr uint64, pio bool, data []byte) bool {
	last := binary.LittleEndian.Uint32(f.page[4:])
	first := binary.LittleEndian.Uint32(f.page[0:])
	if (last+1)%RingEntries == first {
		return false
	}
	e := f.page[ringHeader+int(last)*ringEntry:][:ringEntry]
	binary.LittleEndian.PutUint64(e[0:], addr)
	binary.LittleEndian.PutUint32(e[8:], uint32(len(data)))
	var p uint32
	if pio {
		p = 1
	}
	binary.LittleEndian.PutUint32(e[12:], p)
	copy(e[16:24], data)
	storeRingIndex(f.page, 4, (last+1)%RingEntries)
	return true
}

type applied struct {
	addr uint64
	pio  bool
	data []byte
}

func drainAll(r *CoalescedRing) []applied {
	var got []applied
	r.Drain(func(w CoalescedWrite) { got = append(got, applied{w.Addr, w.PIO, bytes.Clone(w.Data)}) })
	return got
}

func TestCoalescedRingAppliesWritesInOrderAcrossTheWrap(t *testing.T) {
	f, r := newFakeRing()
	if RingEntries != 170 {
		t.Fatalf("RingEntries = %d, want KVM_COALESCED_MMIO_MAX 170 for 4 KiB pages", RingEntries)
	}
	if n := r.Drain(func(CoalescedWrite) { t.Error("an empty ring applied a write") }); n != 0 {
		t.Fatalf("empty ring drained %d", n)
	}
	next := uint32(0)
	for round := 0; round < 5; round++ { // 5 × 100 entries: the indices wrap twice
		for i := 0; i < 100; i++ {
			var d [4]byte
			binary.LittleEndian.PutUint32(d[:], next+uint32(i))
			if !f.push(0xcf8, true, d[:]) {
				t.Fatalf("round %d: ring full after %d", round, i)
			}
		}
		got := drainAll(r)
		if len(got) != 100 {
			t.Fatalf("round %d: drained %d, want 100", round, len(got))
		}
		for i, g := range got {
			if v := binary.LittleEndian.Uint32(g.data); g.addr != 0xcf8 || !g.pio || v != next+uint32(i) {
				t.Fatalf("round %d entry %d: %+v (value %d), want port 0xcf8 value %d", round, i, g, v, next+uint32(i))
			}
		}
		next += 100
	}
}

func TestCoalescedRingFullHoldsOneFewerThanItsEntries(t *testing.T) {
	f, r := newFakeRing()
	n := 0
	for f.push(0x1000, false, []byte{1}) {
		n++
	}
	if n != RingEntries-1 {
		t.Errorf("a full ring holds %d, want %d", n, RingEntries-1)
	}
	if got := drainAll(r); len(got) != n || got[0].pio || got[0].addr != 0x1000 {
		t.Errorf("drained %d (first %+v), want %d MMIO writes at 0x1000", len(got), got[0], n)
	}
}

func TestCoalescedRingDistrustsBadIndicesAndLengths(t *testing.T) {
	f, r := newFakeRing()
	f.push(0x70, true, []byte{0x0a})
	binary.LittleEndian.PutUint32(f.page[ringHeader+8:], 4096) // length past the 8 data bytes
	got := drainAll(r)
	if len(got) != 1 || len(got[0].data) != 8 {
		t.Fatalf("a length of 4096 gave %+v, want one write clipped to 8 bytes", got)
	}
	storeRingIndex(f.page, 4, RingEntries+5) // last past the end
	if n := r.Drain(func(CoalescedWrite) {}); n != 0 {
		t.Errorf("a ring whose last index is past its end drained %d", n)
	}
	storeRingIndex(f.page, 0, 1<<31) // first past the end
	storeRingIndex(f.page, 4, 3)
	if n := r.Drain(func(CoalescedWrite) {}); n != 0 {
		t.Errorf("a ring whose first index is past its end drained %d", n)
	}
}
