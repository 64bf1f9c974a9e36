package boottimer

import (
	"testing"
	"time"
)

func TestBootTimer(t *testing.T) {
	calls := 0
	tm := New(time.Now().Add(-time.Second), func(time.Duration) { calls++ })
	tm.Write(0, []byte{1})
	if _, ok := tm.Elapsed(); ok {
		t.Fatal("a non-magic write recorded a boot")
	}
	tm.Write(0, []byte{MagicValue})
	d, ok := tm.Elapsed()
	tm.Write(0, []byte{MagicValue})
	d2, _ := tm.Elapsed()
	if !ok || d < time.Second || d2 != d || calls != 1 {
		t.Fatalf("elapsed %v %v, second %v, calls %d", d, ok, d2, calls)
	}
}
