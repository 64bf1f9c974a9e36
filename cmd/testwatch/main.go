// Command testwatch runs one test binary inside the lab's outer guest and
// passes its output through. When the output stops for --stall (a test
// that hangs, while the outer guest itself still runs), it prints where
// every process in the guest is, then makes the Go test binary print its
// goroutines (SIGQUIT) and end. The console then says which test hung
// and why; the events channel gets a stall event (package labproto) with
// the gist, and vmm-lab boots the outer guest again to go on from there
// (lab/resume.go). Its exit status is the test binary's.
//
//	testwatch --stall 15m --name e2e.test --events /dev/ttyS1 -- /lab/tests/e2e.test -test.v=test2json
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	flag "github.com/spf13/pflag"
	"github.com/vmmlab/vmm/lab/labproto"
)

func main() {
	stall := flag.Duration("stall", 15*time.Minute, "stop the test binary when its output has stopped this long")
	name := flag.String("name", "", "the test binary's name in its events (default: its path)")
	events := flag.String("events", "", "write the binary's test2json events, and a stall's, to this file (run it with -test.v=test2json)")
	test2json := flag.String("test2json", "test2json", "Go's test2json, for --events")
	flag.Parse()
	args := flag.Args()
	if len(args) == 0 || *stall <= 0 {
		fmt.Fprintln(os.Stderr, "usage: testwatch [--stall D] [--name N] [--events FILE] -- test-binary [flags]")
		os.Exit(2)
	}
	if *name == "" {
		*name = args[0]
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	w := watch{name: *name, stall: *stall, tick: 10 * time.Second, out: os.Stdout, procs: "/proc", sysrq: "/proc/sysrq-trigger",
		events: *events, test2json: *test2json}
	code, err := w.run(ctx, args)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testwatch:", err)
	}
	os.Exit(code)
}

// watch runs one command and stops it once its output stalls.
type watch struct {
	name  string
	stall time.Duration
	tick  time.Duration // how often the output's age is looked at
	out   io.Writer     // the command's output and the stall report go here
	procs string        // /proc, where the stall report reads the processes
	sysrq string        // /proc/sysrq-trigger ("" in tests: no kernel report)
	quit  time.Duration // how long a SIGQUIT'd binary gets to print (default 30 s)
	// events, if set, is the file the binary's test2json events go to
	// (events.go); test2json is the converter.
	events, test2json string
}

// run starts args, copies its output to w.out, and returns its exit
// status. A stalled command gets SIGQUIT (a Go binary prints every
// goroutine's stack and exits 2), then SIGKILL if it has not ended
// within w.quit; so does one still running when ctx ends (vmm-lab's
// timeout), which gets SIGTERM first.
func (w watch) run(ctx context.Context, args []string) (int, error) {
	out := newStamped(w.out)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = unframed{out}, unframed{out}
	if w.events != "" {
		conv, err := startConverter(w.test2json, w.name, w.events)
		if err != nil {
			return 127, err
		}
		defer func() {
			if err := conv.close(); err != nil {
				out.printf("testwatch: %v\n", err)
			}
		}()
		tee := io.MultiWriter(unframed{out}, bestEffort{conv.in})
		cmd.Stdout, cmd.Stderr = tee, tee
	}
	// Children that outlive the binary (its VMs) may hold the output
	// open: Wait stops copying it this long after the binary ended.
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		return 127, fmt.Errorf("start %s: %w", args[0], err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tick := time.NewTicker(w.tick)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			return exitCode(err)
		case <-ctx.Done():
			_ = cmd.Process.Signal(syscall.SIGTERM)
			return w.end(cmd, done, out)
		case <-tick.C:
			if silent := out.silent(); silent >= w.stall {
				return w.stopStalled(cmd, done, out, silent)
			}
		}
	}
}

// stopStalled reports where the guest's processes are, stops the
// stalled command and sends the stall event.
func (w watch) stopStalled(cmd *exec.Cmd, done <-chan error, out *stamped, silent time.Duration) (int, error) {
	e := labproto.Event{Action: labproto.Stall, Package: w.name, Test: out.lastTest(), Seconds: int(silent.Seconds())}
	out.printf("testwatch: %s silent for %ds while %s ran: where every process is\n", w.name, e.Seconds, orDash(e.Test))
	e.Lines = w.report(out)
	out.collectFrames()
	_ = cmd.Process.Signal(syscall.SIGQUIT)
	code, err := w.end(cmd, done, out)
	e.Exit = code
	e.Lines = append(e.Lines, out.frames()...)
	out.printf("testwatch: %s stopped, exit status %d\n", w.name, code)
	if serr := w.sendEvent(e); serr != nil {
		out.printf("testwatch: %v\n", serr)
	}
	return code, err
}

// sendEvent appends one event to the events file (none without one).
func (w watch) sendEvent(e labproto.Event) error {
	if w.events == "" {
		return nil
	}
	f, err := os.OpenFile(w.events, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("events: %w", err)
	}
	if err := labproto.Write(f, e); err != nil {
		f.Close()
		return fmt.Errorf("events: %w", err)
	}
	return f.Close()
}

// end waits up to w.quit for the signalled command, then kills it.
func (w watch) end(cmd *exec.Cmd, done <-chan error, out *stamped) (int, error) {
	quit := w.quit
	if quit <= 0 {
		quit = 30 * time.Second
	}
	select {
	case err := <-done:
		return exitCode(err)
	case <-time.After(quit):
		out.printf("testwatch: %s did not end within %v of the signal: killed\n", w.name, quit)
		_ = cmd.Process.Kill()
		return exitCode(<-done)
	}
}

// exitCode turns Wait's error into an exit status: the command's own, or
// 128+signal when a signal ended it.
func exitCode(err error) (int, error) {
	if err == nil {
		return 0, nil
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return 1, err
	}
	if st, ok := ee.Sys().(syscall.WaitStatus); ok && st.Signaled() {
		return 128 + int(st.Signal()), nil
	}
	return ee.ExitCode(), nil
}
