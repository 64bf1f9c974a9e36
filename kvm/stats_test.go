package kvm

import (
	"encoding/binary"
	"testing"
)

// stats builds a file in KVM's binary statistics format.
func stats(names []string, kinds []uint32, sizes []uint16, values []uint64) []byte {
	le := binary.LittleEndian
	const nameSize = 48
	descOff := uint32(24 + 16) // after the header and an id string
	dataOff := descOff + uint32(len(names))*(16+nameSize)
	b := make([]byte, dataOff)
	le.PutUint32(b[4:], nameSize)
	le.PutUint32(b[8:], uint32(len(names)))
	le.PutUint32(b[12:], 24)
	le.PutUint32(b[16:], descOff)
	le.PutUint32(b[20:], dataOff)
	var data []byte
	for i, n := range names {
		d := b[descOff+uint32(i)*(16+nameSize):]
		le.PutUint32(d, kinds[i])
		le.PutUint16(d[6:], sizes[i])
		le.PutUint32(d[8:], uint32(len(data)))
		copy(d[16:], n)
		for range sizes[i] {
			data = le.AppendUint64(data, values[i])
		}
	}
	return append(b, data...)
}

func TestParseStats(t *testing.T) {
	b := stats([]string{"exits", "halt_exits", "halt_poll_fail_hist"}, []uint32{statCumulative, statCumulative | 0x10, 3}, []uint16{1, 1, 4}, []uint64{42, 7, 1})
	got, err := ParseStats(b)
	if err != nil || got["exits"] != 42 || got["halt_exits"] != 7 || len(got) != 2 {
		t.Fatalf("%v, %v", got, err)
	}
	scalar := stats([]string{"exits"}, []uint32{statCumulative}, []uint16{1}, []uint64{1})
	for _, bad := range [][]byte{nil, b[:30], scalar[:len(scalar)-4]} {
		if _, err := ParseStats(bad); err == nil {
			t.Errorf("a %d-byte truncated file parsed", len(bad))
		}
	}
}

// FuzzParseStats: no bytes make the parser panic.
func FuzzParseStats(f *testing.F) {
	f.Add(stats([]string{"exits"}, []uint32{0}, []uint16{1}, []uint64{1}))
	f.Fuzz(func(t *testing.T, b []byte) { ParseStats(b) })
}
