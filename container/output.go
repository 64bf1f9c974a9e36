package container

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"sync"
	"time"
)

// output collects the workload's output and tells waiters about markers.
type output struct {
	echo    io.Writer
	mu      sync.Mutex
	buf     []byte
	waiters []*waiter
}

// waiter is closed (c) when a line containing marker arrives, at at.
type waiter struct {
	marker string
	c      chan struct{}
	at     time.Time
}

// seenAt says when the marker arrived, if it has.
func (w *waiter) seenAt() (time.Time, bool) {
	select {
	case <-w.c:
		return w.at, true
	default:
		return time.Time{}, false
	}
}

// collect reads the workload's output to its end. A line longer than the
// reader's buffer is taken in pieces, so no line can stop the reading
// (and block the workload on a full pipe).
func (o *output) collect(r io.ReadCloser, done chan struct{}) {
	defer close(done)
	defer r.Close()
	br := bufio.NewReaderSize(r, 4096)
	for {
		piece, err := br.ReadSlice('\n')
		if len(piece) > 0 {
			o.add(string(piece))
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
	}
}

func (o *output) add(line string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.echo != nil {
		io.WriteString(o.echo, line) // best effort: a closed terminal must not stop the workload
	}
	o.buf = append(o.buf, line...)
	if len(o.buf) > maxOutput {
		o.buf = o.buf[len(o.buf)-maxOutput:]
	}
	kept := o.waiters[:0]
	for _, w := range o.waiters {
		if strings.Contains(line, w.marker) {
			w.at = time.Now()
			close(w.c)
		} else {
			kept = append(kept, w)
		}
	}
	o.waiters = kept
}

// watch starts watching for a line containing marker (in output yet to
// come: call it before the workload starts).
func (o *output) watch(marker string) *waiter {
	o.mu.Lock()
	defer o.mu.Unlock()
	w := &waiter{marker: marker, c: make(chan struct{})}
	o.waiters = append(o.waiters, w)
	return w
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return string(o.buf)
}
