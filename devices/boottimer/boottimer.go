// Package boottimer owns the boot-timer port: the guest's init writes
// MagicValue to it once it has booted, and vmm records how long after its
// own start that happened (the idea of Firecracker's boot timer device).
package boottimer

import (
	"sync"
	"time"
)

// Port is the I/O port vmm places the timer at.
const Port = 0x440

// MagicValue is the byte the guest writes to say "booted".
const MagicValue = 123

// Timer records the first "booted" write.
type Timer struct {
	mu      sync.Mutex
	start   time.Time
	elapsed time.Duration
	seen    bool
	notify  func(time.Duration)
}

// New makes a timer that measures from start and calls notify (if non-nil)
// on the first "booted" write.
func New(start time.Time, notify func(time.Duration)) *Timer {
	return &Timer{start: start, notify: notify}
}

// Read returns 0.
func (t *Timer) Read(offset uint64, data []byte) {
	clear(data)
}

// Write records the boot time when the guest writes MagicValue.
func (t *Timer) Write(offset uint64, data []byte) {
	if offset != 0 || len(data) == 0 || data[0] != MagicValue {
		return
	}
	t.mu.Lock()
	first := !t.seen
	if first {
		t.seen = true
		t.elapsed = time.Since(t.start)
	}
	d := t.elapsed
	t.mu.Unlock()
	if first && t.notify != nil {
		t.notify(d)
	}
}

// Elapsed returns the recorded boot time and whether the guest reported one.
func (t *Timer) Elapsed() (time.Duration, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.elapsed, t.seen
}
