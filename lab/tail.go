package lab

import (
	"bytes"
	"io"
	"os"
	"time"

	"github.com/vmmlab/vmm/lab/labproto"
)

// tailPoll is how often the events file is read while QEMU runs.
const tailPoll = 100 * time.Millisecond

// eventTail reads the events QEMU writes to a file (the outer guest's
// second serial port) while QEMU runs, handing each to on as it comes.
type eventTail struct {
	path   string
	on     func(labproto.Event)
	stop   chan struct{}
	done   chan struct{}
	events []labproto.Event
}

// tailEvents starts reading path; it need not exist yet.
func tailEvents(path string, on func(labproto.Event)) *eventTail {
	t := &eventTail{path: path, on: on, stop: make(chan struct{}), done: make(chan struct{})}
	go t.run()
	return t
}

// close reads what is left once QEMU has ended and returns every event.
func (t *eventTail) close() []labproto.Event {
	close(t.stop)
	<-t.done
	return t.events
}

func (t *eventTail) run() {
	defer close(t.done)
	tick := time.NewTicker(tailPoll)
	defer tick.Stop()
	var f *os.File
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	var lines lineBuffer
	for {
		last := false
		select {
		case <-t.stop:
			last = true
		case <-tick.C:
		}
		if f == nil {
			f, _ = os.Open(t.path) // QEMU makes it when it starts
		}
		if f != nil {
			lines.readFrom(f, t.add)
		}
		if last {
			return
		}
	}
}

func (t *eventTail) add(line []byte) {
	if e, ok := labproto.Parse(string(line)); ok {
		t.events = append(t.events, e)
		t.on(e)
	}
}

// lineBuffer splits what a growing file gives into lines, keeping a
// line not yet ended for the next read and dropping one longer than
// labproto.MaxLine.
type lineBuffer struct {
	partial  []byte
	skipping bool // within a line too long to keep
}

func (b *lineBuffer) readFrom(r io.Reader, line func([]byte)) {
	chunk := make([]byte, 64<<10)
	for {
		n, err := r.Read(chunk)
		b.write(chunk[:n], line)
		if err != nil || n == 0 {
			return
		}
	}
}

func (b *lineBuffer) write(p []byte, line func([]byte)) {
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			if !b.skipping {
				b.partial = append(b.partial, p...)
			}
			if len(b.partial) > labproto.MaxLine {
				b.partial, b.skipping = nil, true
			}
			return
		}
		if !b.skipping {
			line(append(b.partial, p[:i]...))
		}
		b.partial, b.skipping = nil, false
		p = p[i+1:]
	}
}
