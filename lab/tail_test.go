package lab

import (
	"strings"
	"testing"

	"github.com/vmmlab/vmm/lab/labproto"
)

// A line comes whole however the writes cut it; one longer than
// labproto.MaxLine is dropped, and the lines after it still come.
func TestLineBuffer(t *testing.T) {
	var b lineBuffer
	var got []string
	line := func(l []byte) { got = append(got, string(l)) }
	for _, w := range []string{"fir", "st\nsec", "ond\n", "\n", "third"} {
		b.write([]byte(w), line)
	}
	if strings.Join(got, "|") != "first|second|" {
		t.Fatalf("lines %q", got)
	}
	got = nil
	long := strings.Repeat("x", labproto.MaxLine/4)
	for range 5 {
		b.write([]byte(long), line)
	}
	b.write([]byte("x\nafter\n"), line)
	if len(got) != 1 || got[0] != "after" {
		t.Errorf("after a line too long: %d lines, first %.20q", len(got), got)
	}
}
