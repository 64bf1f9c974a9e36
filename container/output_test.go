package container

import (
	"io"
	"strings"
	"testing"
	"time"
)

// A line far longer than any buffer neither stops the reading nor hides
// a marker that follows it; the marker's arrival time is recorded.
func TestOutputLongLine(t *testing.T) {
	var o output
	w := o.watch("MARK")
	r, pw := io.Pipe()
	done := make(chan struct{})
	go o.collect(r, done)
	before := time.Now()
	go func() {
		io.WriteString(pw, strings.Repeat("x", 200<<10)+"\nMARK here\n")
		pw.Close()
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("collect stopped reading")
	}
	at, ok := w.seenAt()
	if !ok || at.Before(before) {
		t.Fatalf("marker seen %v at %v", ok, at)
	}
	if s := o.String(); len(s) != maxOutput || !strings.HasSuffix(s, "MARK here\n") {
		t.Errorf("kept %d bytes ending %q", len(s), s[len(s)-12:])
	}
}
