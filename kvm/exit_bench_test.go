package kvm

import "testing"

// BenchmarkDecodeExit decodes a one-byte port write (the serial console's
// exit), the most frequent exit of a booting guest.
func BenchmarkDecodeExit(b *testing.B) {
	run := serialOutRun()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeExit(run); err != nil {
			b.Fatal(err)
		}
	}
}
