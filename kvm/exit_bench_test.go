package kvm

import (
	"encoding/binary"
	"testing"
)

// BenchmarkDecodeExit decodes a one-byte port write (the serial console's
// exit), the most frequent exit of a booting guest.
func BenchmarkDecodeExit(b *testing.B) {
	run := runArea(ExitIO)
	u := run[runUnion:]
	u[0], u[1] = IOOut, 1
	binary.LittleEndian.PutUint16(u[2:], 0x3f8)
	binary.LittleEndian.PutUint32(u[4:], 1)
	binary.LittleEndian.PutUint64(u[8:], 0x800)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeExit(run); err != nil {
			b.Fatal(err)
		}
	}
}
