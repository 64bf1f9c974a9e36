// Command labevent writes one of the lab's own events (package
// labproto) to the outer guest's events channel, in one write, with the
// guest's uptime. lab/outer-init.sh says what it does through it.
//
//	labevent --to /dev/ttyS1 lab-end --package e2e.test --exit 1
//	labevent --to /dev/ttyS1 lab-file --file results.json=/tmp/out/results.json
package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	flag "github.com/spf13/pflag"

	"github.com/vmmlab/vmm/lab/labproto"
)

// options are labevent's flags.
type options struct {
	to, pkg, detail, file, uptime string
	exit, seconds                 int
}

func main() {
	var o options
	flag.StringVar(&o.to, "to", "/dev/ttyS1", "the events channel")
	flag.StringVar(&o.pkg, "package", "", "the test binary the event is about")
	flag.IntVar(&o.exit, "exit", 0, "an exit status")
	flag.IntVar(&o.seconds, "seconds", 0, "a duration in seconds")
	flag.StringVar(&o.detail, "detail", "", "what happened, in words")
	flag.StringVar(&o.file, "file", "", "NAME=PATH: send the file at PATH, gzip'd, as NAME")
	flag.StringVar(&o.uptime, "uptime", "/proc/uptime", "where the uptime comes from")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: labevent [--to TTY] ACTION [flags]; ACTION is one of %s\n", strings.Join(labproto.Actions(), ", "))
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	e, err := o.event(flag.Arg(0))
	if err == nil {
		err = send(o.to, e)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "labevent:", err)
		os.Exit(1)
	}
}

// event makes the event the flags describe.
func (o options) event(action string) (labproto.Event, error) {
	if !slices.Contains(labproto.Actions(), action) {
		return labproto.Event{}, fmt.Errorf("unknown action %q (one of %s)", action, strings.Join(labproto.Actions(), ", "))
	}
	e := labproto.Event{Time: time.Now().UTC().Format(time.RFC3339Nano), Action: action, Package: o.pkg,
		Exit: o.exit, Seconds: o.seconds, Detail: o.detail, Uptime: uptime(o.uptime)}
	if o.file != "" {
		name, path, ok := strings.Cut(o.file, "=")
		if !ok || name == "" {
			return e, fmt.Errorf("--file %q: want NAME=PATH", o.file)
		}
		data, err := gzipFile(path)
		if err != nil {
			return e, err
		}
		e.Name, e.Data = name, data
	}
	return e, nil
}

// send writes e to the channel at path.
func send(path string, e labproto.Event) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	if err := labproto.Write(f, e); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}

// gzipFile returns the file at path, gzip'd.
func gzipFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write(data); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// uptime reads the seconds since boot from a /proc/uptime file (0 when
// it cannot).
func uptime(path string) float64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	first, _, _ := strings.Cut(strings.TrimSpace(string(b)), " ")
	s, _ := strconv.ParseFloat(first, 64)
	return s
}
