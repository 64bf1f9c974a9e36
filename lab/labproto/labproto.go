// Package labproto is the protocol between the lab's outer guest and
// vmm-lab: the events the guest writes to its second serial port
// (ttyS1), one JSON object a line, which QEMU writes to a file on the
// host. The tests' own events are Go's test2json events (Package names
// the test binary); the outer guest's events (cmd/labevent, run by
// lab/outer-init.sh, and cmd/testwatch) have actions of their own, in
// the same shape. The console (ttyS0) is for people: vmm-lab decides
// nothing from it but for the outer kernel's own panic and soft-lockup
// reports, which the kernel prints itself when no user space is left
// to send an event.
package labproto

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Event is one line of the events channel.
type Event struct {
	Time    string  `json:"Time,omitempty"`
	Action  string  `json:"Action"`
	Package string  `json:"Package,omitempty"` // the test binary's name
	Test    string  `json:"Test,omitempty"`
	Elapsed float64 `json:"Elapsed,omitempty"`
	Output  string  `json:"Output,omitempty"`

	// The outer guest's own events fill these.
	Uptime  float64  `json:"Uptime,omitempty"`  // the outer guest's seconds since it booted
	Exit    int      `json:"Exit,omitempty"`    // End, Stall, Bench: the exit status
	Seconds int      `json:"Seconds,omitempty"` // Stall: how long the output was silent
	Detail  string   `json:"Detail,omitempty"`  // Error: what went wrong; KVM: its parameters; Left: the processes
	Lines   []string `json:"Lines,omitempty"`   // Stall: where the processes were
	Name    string   `json:"Name,omitempty"`    // File: the file's name
	Data    []byte   `json:"Data,omitempty"`    // File: its bytes, gzip'd
}

// The outer guest's actions. The tests' are test2json's: run, pass,
// fail, skip, output, ...
const (
	Booted  = "lab-booted"  // the outer init started (each boot)
	KVM     = "lab-kvm"     // /dev/kvm is there
	Error   = "lab-error"   // setting up the outer guest went wrong
	Alive   = "lab-alive"   // the heartbeat: when the tests start, then every minute
	Begin   = "lab-begin"   // a test binary starts
	End     = "lab-end"     // it ended, with Exit
	Skipped = "lab-skipped" // it finished in an earlier boot
	Left    = "lab-left"    // it left processes behind, which were killed
	Stall   = "lab-stall"   // cmd/testwatch stopped it: its output had stopped while Test ran
	Bench   = "lab-bench"   // vmm bench all ended, with Exit
	File    = "lab-file"    // a file the outer guest sends back
	Done    = "lab-done"    // the outer init reached its end
)

// Actions lists every action of the outer guest's own.
func Actions() []string {
	return []string{Booted, KVM, Error, Alive, Begin, End, Skipped, Left, Stall, Bench, File, Done}
}

// Write writes e as one line in one write, so that events of processes
// writing the same tty do not interleave.
func Write(w io.Writer, e Event) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// MaxLine bounds one event's line (a File event holds a whole file).
const MaxLine = 16 << 20

// Parse reads one line: an event, or ok false for anything else (the
// tty's noise, a line cut short when the guest went down).
func Parse(line string) (e Event, ok bool) {
	line = strings.TrimRight(line, "\r")
	if !strings.HasPrefix(line, "{") || json.Unmarshal([]byte(line), &e) != nil || e.Action == "" {
		return Event{}, false
	}
	return e, true
}

// Read reads every event of r, skipping lines that are not events.
func Read(r io.Reader) ([]Event, error) {
	var out []Event
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), MaxLine)
	for sc.Scan() {
		if e, ok := Parse(sc.Text()); ok {
			out = append(out, e)
		}
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("events: %w", err)
	}
	return out, nil
}

// MaxFile bounds a File event's bytes once unpacked.
const MaxFile = 256 << 20

// FileData returns the bytes a File event carries (they come gzip'd),
// at most MaxFile of them.
func (e Event) FileData() ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(e.Data))
	if err != nil {
		return nil, fmt.Errorf("%s from the lab: %w", e.Name, err)
	}
	b, err := io.ReadAll(io.LimitReader(zr, MaxFile+1))
	if err == nil && len(b) > MaxFile {
		err = fmt.Errorf("more than %d bytes unpacked", MaxFile)
	}
	if err != nil {
		return nil, fmt.Errorf("%s from the lab: %w", e.Name, err)
	}
	return b, nil
}
