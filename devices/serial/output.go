package serial

import (
	"io"
	"sync"
	"time"
)

// Output carries the guest's console output to a host writer without
// ever blocking the vCPU that sends it: bytes go into a bounded buffer
// that a goroutine of its own drains. When the buffer is full (the host
// side stalled: Ctrl-S, a reader that stopped), further bytes are dropped
// and counted. The first write error (a closed pipe) is reported once
// through onError and ends the draining.
type Output struct {
	mu      sync.Mutex
	wake    chan struct{} // one pending wake-up for the drainer
	done    chan struct{} // closed when the drainer ends
	pending []byte
	limit   int
	dropped uint64
	closed  bool
	err     error
	onError func(error)
}

// NewOutput starts draining into w with at most limit bytes buffered.
// onError, if set, is called once with the first write error.
func NewOutput(w io.Writer, limit int, onError func(error)) *Output {
	o := &Output{wake: make(chan struct{}, 1), done: make(chan struct{}), limit: limit, onError: onError}
	go o.drain(w)
	return o
}

// Write buffers what fits and counts the rest as dropped; it never
// blocks on the host writer and never fails.
func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	if o.err != nil || o.closed {
		o.dropped += uint64(len(p))
		o.mu.Unlock()
		return len(p), nil
	}
	n := min(len(p), o.limit-len(o.pending))
	o.pending = append(o.pending, p[:n]...)
	o.dropped += uint64(len(p) - n)
	o.mu.Unlock()
	if n > 0 {
		select {
		case o.wake <- struct{}{}:
		default: // a wake-up is already pending
		}
	}
	return len(p), nil
}

func (o *Output) drain(w io.Writer) {
	defer close(o.done)
	var spare []byte
	for {
		// Swap buffers only when there is something to write: pending
		// and spare are never the same array, so writers never append to
		// what is being written out.
		o.mu.Lock()
		chunk, closed := o.pending, o.closed
		if len(chunk) > 0 {
			o.pending = spare[:0]
		}
		o.mu.Unlock()
		if len(chunk) > 0 {
			if _, err := w.Write(chunk); err != nil {
				o.mu.Lock()
				o.err = err
				o.dropped += uint64(len(o.pending))
				o.pending = nil
				o.mu.Unlock()
				if o.onError != nil {
					o.onError(err)
				}
				return
			}
			spare = chunk
			continue // look again before sleeping
		}
		if closed {
			return
		}
		<-o.wake
	}
}

// Close flushes what is buffered, waiting at most timeout for a stalled
// host writer, and stops the drainer. It reports whether everything was
// written.
func (o *Output) Close(timeout time.Duration) bool {
	o.mu.Lock()
	o.closed = true
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
	select {
	case <-o.done:
		o.mu.Lock()
		defer o.mu.Unlock()
		return o.err == nil
	case <-time.After(timeout):
		return false // the drainer stays blocked in the host's write
	}
}

// Dropped counts the bytes the guest sent that never reached the host.
func (o *Output) Dropped() uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.dropped
}

// Err is the write error that stopped the output, if any.
func (o *Output) Err() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.err
}
