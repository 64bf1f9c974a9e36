package container

import (
	"bufio"
	"io"
	"strings"
	"sync"
)

// output collects the workload's output and tells waiters about markers.
type output struct {
	echo    io.Writer
	mu      sync.Mutex
	buf     []byte
	waiters []waiter
}

type waiter struct {
	marker string
	c      chan struct{}
}

func (o *output) collect(r io.ReadCloser, done chan struct{}) {
	defer close(done)
	defer r.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxOutput)
	for sc.Scan() {
		o.add(sc.Text() + "\n")
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
			close(w.c)
		} else {
			kept = append(kept, w)
		}
	}
	o.waiters = kept
}

// seen returns a channel closed once a line containing marker arrives.
func (o *output) seen(marker string) <-chan struct{} {
	o.mu.Lock()
	defer o.mu.Unlock()
	c := make(chan struct{})
	if strings.Contains(string(o.buf), marker) {
		close(c)
		return c
	}
	o.waiters = append(o.waiters, waiter{marker, c})
	return c
}

func (o *output) contains(s string) bool { return strings.Contains(o.String(), s) }

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return string(o.buf)
}
