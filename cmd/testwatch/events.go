package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"
)

// The structured channel: a test binary run with -test.v=test2json marks
// each of its framing lines (=== RUN, --- PASS, ...) with a ^V byte. The
// framed output goes to Go's own converter, test2json, whose events (one
// JSON object a line) go to the events file, the lab's second serial
// port; the console gets the output with the marks taken out, as plain
// -test.v output.

// frameMark is the byte test binaries put before a framing line.
const frameMark = 0x16

// unframed writes to w what is written to it, without frame marks.
type unframed struct{ w io.Writer }

func (u unframed) Write(p []byte) (int, error) {
	if _, err := u.w.Write(bytes.ReplaceAll(p, []byte{frameMark}, nil)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// bestEffort writes to w and never fails: a converter that died must
// not stop the binary's output to the console.
type bestEffort struct{ w io.Writer }

func (b bestEffort) Write(p []byte) (int, error) {
	b.w.Write(p)
	return len(p), nil
}

// converter is a running test2json that turns a binary's framed output
// into events.
type converter struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	file *os.File
}

// startConverter starts test2json (its path) on the output of test
// binary name, appending its events to the file events.
func startConverter(test2json, name, events string) (*converter, error) {
	f, err := os.OpenFile(events, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	cmd := exec.Command(test2json, "-t", "-p", name)
	cmd.Stdout, cmd.Stderr = f, f
	in, err := cmd.StdinPipe()
	if err == nil {
		err = cmd.Start()
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("events: %s: %w", test2json, err)
	}
	return &converter{cmd: cmd, in: in, file: f}, nil
}

// close ends the converter's input and waits (a while) for its last
// events.
func (c *converter) close() error {
	c.in.Close()
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		c.cmd.Process.Kill()
		err = fmt.Errorf("events: test2json did not end")
	}
	if cerr := c.file.Close(); err == nil {
		err = cerr
	}
	return err
}
