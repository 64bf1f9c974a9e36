package serial

import (
	"bytes"
	"errors"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vmmlab/vmm/internal/syncbuf"
)

// Defect: loopback mode kept every byte the guest wrote, without limit.
// It is the chip's 16-byte FIFO now, with an overrun flag.
func TestLoopbackIsAFIFOThatOverruns(t *testing.T) {
	u := New(&bytes.Buffer{}, &counter{})
	wr(u, regMCR, mcrLoop)
	for i := 0; i < 100000; i++ {
		wr(u, regData, byte(i))
	}
	u.mu.Lock()
	held := len(u.rx)
	u.mu.Unlock()
	if held != loopFIFO {
		t.Fatalf("loopback holds %d bytes, want %d", held, loopFIFO)
	}
	if rd(u, regLSR)&lsrOE == 0 || rd(u, regLSR)&lsrOE != 0 {
		t.Error("overrun not reported once in LSR")
	}
	for i := 0; i < loopFIFO; i++ {
		if got := rd(u, regData); got != byte(i) {
			t.Fatalf("byte %d read back as %d", i, got)
		}
	}
	if rd(u, regLSR)&lsrDR != 0 {
		t.Error("data ready after the FIFO was drained")
	}
}

// stalled is a host writer that never returns until released, like a
// terminal after Ctrl-S or a pipe nobody reads.
type stalled struct{ release chan struct{} }

func (s stalled) Write(p []byte) (int, error) { <-s.release; return len(p), nil }

// Defect: console output was written on the vCPU thread under the UART
// lock, so a stalled stdout blocked the vCPU in write(2) for good. Output
// buffers a bounded amount, drops and counts the rest, and never blocks.
func TestOutputNeverBlocksTheGuest(t *testing.T) {
	s := stalled{release: make(chan struct{})}
	defer close(s.release)
	out := NewOutput(s, 4096, nil)
	u := New(out, &counter{})
	done := make(chan struct{})
	go func() {
		for i := 0; i < 1<<20; i++ {
			wr(u, regData, 'x')
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the guest's writes blocked on a stalled console")
	}
	if d := out.Dropped(); d < 1<<20-2*4096 {
		t.Errorf("dropped %d bytes of 1 MiB into a stalled console with 4 KiB of buffer", d)
	}
	start := time.Now()
	if out.Close(100 * time.Millisecond) {
		t.Error("Close reported a complete flush into a stalled writer")
	}
	if time.Since(start) > 2*time.Second {
		t.Error("Close waited for the stalled writer")
	}
}

type brokenPipe struct{}

func (brokenPipe) Write([]byte) (int, error) { return 0, syscall.EPIPE }

// A closed stdout ends the output once, with the error, and later bytes
// are dropped.
func TestOutputReportsAClosedPipeOnce(t *testing.T) {
	var mu sync.Mutex
	var errs []error
	out := NewOutput(brokenPipe{}, 4096, func(err error) { mu.Lock(); errs = append(errs, err); mu.Unlock() })
	for i := 0; i < 100; i++ {
		out.Write([]byte("hello\n"))
		time.Sleep(time.Millisecond)
	}
	out.Close(time.Second)
	mu.Lock()
	defer mu.Unlock()
	if len(errs) != 1 || !errors.Is(errs[0], syscall.EPIPE) || !errors.Is(out.Err(), syscall.EPIPE) {
		t.Fatalf("errors reported: %v (Err %v)", errs, out.Err())
	}
	if out.Dropped() == 0 {
		t.Error("nothing counted as dropped after the pipe closed")
	}
}

// What the guest sends arrives in order when the host keeps up.
func TestOutputDelivers(t *testing.T) {
	var got syncbuf.Buffer
	out := NewOutput(&got, 64, nil)
	var want bytes.Buffer
	for i := 0; i < 1000; i++ {
		b := []byte{byte('a' + i%26)}
		want.Write(b)
		out.Write(b)
		if i%50 == 0 {
			for out.pendingLen() > 0 {
				time.Sleep(time.Millisecond)
			}
		}
	}
	if !out.Close(5*time.Second) || out.Dropped() != 0 || got.String() != want.String() {
		t.Fatalf("delivered %d bytes, dropped %d", len(got.String()), out.Dropped())
	}
}

func (o *Output) pendingLen() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.pending)
}
