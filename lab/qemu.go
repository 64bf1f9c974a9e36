package lab

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vmmlab/vmm/lab/labproto"
)

// QEMU describes one boot of the outer guest.
type QEMU struct {
	Binary string // default qemu-system-x86_64
	// Events is the file the outer guest's second serial port (ttyS1)
	// writes: its events (package labproto), which Boot reads as they
	// come.
	Events  string
	Kernel  string
	Initrd  string
	Append  string
	Memory  string  // e.g. "3G"
	Disks   []Drive // virtio-blk disks, /dev/vda first
	SMP     int
	CPU     string // default "max": emulated AMD with SVM and NPT
	Timeout time.Duration
	// Idle stops QEMU when the console and the events have been silent
	// this long (0: never): a hung outer guest then fails the run early
	// instead of at Timeout.
	Idle time.Duration
	// MaxLockup stops QEMU when the outer kernel reports a CPU stuck in a
	// soft lockup for at least this long (0: never). Such a kernel does not
	// recover, and its console stays busy with stall reports, so Idle
	// would not fire.
	MaxLockup time.Duration
}

// Boot is what one QEMU run left behind.
type Boot struct {
	Lines  []string         // console lines, without the host timestamps
	Events []labproto.Event // what the events channel said
	// Stopped says why QEMU was killed (deadline, silence, lockup); nil
	// when the outer guest ended by itself.
	Stopped error
	// Panic is the outer kernel's panic line, if it panicked.
	Panic string
}

// OuterFailure says why the outer (emulated) guest failed, or "" when
// it did not: its kernel locked up or panicked, a test hung while the
// guest went on (testwatch stopped it: Stalled), or the guest reset before
// its script reached its end (labproto.Done), with no panic (QEMU exits on a reset:
// -no-reboot). Nothing in the lab resets the outer guest, so such a reset
// is the emulated machine's (its kernel triple-faulted, once in CI under
// 20 nested VMs). The tests running then say nothing either way: their
// processes went down with the outer kernel.
func (b Boot) OuterFailure() string {
	switch {
	case b.Lockup():
		return b.Stopped.Error()
	case b.Panic != "":
		return "the outer kernel panicked: " + b.Panic
	case b.Hung():
		return b.Stopped.Error() + ", and so did its init's heartbeat"
	case b.Stalled():
		return b.Stopped.Error()
	case b.Stopped == nil && !b.reachedDone():
		return "the outer guest reset itself before the end of its script, with no kernel panic (an emulated triple fault or reset)"
	}
	return ""
}

// reachedDone reports whether the outer guest's script reached its end.
func (b Boot) reachedDone() bool { return b.said(labproto.Done) }

// said reports whether the outer guest sent an event with action.
func (b Boot) said(action string) bool {
	return slices.ContainsFunc(b.Events, func(e labproto.Event) bool { return e.Action == action })
}

// HangError stops QEMU when its console and events have been silent too
// long.
type HangError struct{ Silent time.Duration }

func (e *HangError) Error() string {
	return fmt.Sprintf("no output for %v: the outer guest hung", e.Silent)
}

// Hung reports whether QEMU was stopped for silence although the outer
// init had started its heartbeat (labproto.Alive, a minute apart): then
// the outer guest itself stopped running, not just a quiet test (which
// the heartbeat would have kept the events coming through, until go
// test's own timeout).
func (b Boot) Hung() bool {
	var h *HangError
	return errors.As(b.Stopped, &h) && b.said(labproto.Alive)
}

// Lockup reports whether QEMU was stopped because the outer (emulated)
// kernel locked up, rather than a test hanging or failing.
func (b Boot) Lockup() bool {
	var l *LockupError
	return errors.As(b.Stopped, &l)
}

// StallError stops QEMU once cmd/testwatch has stopped a test binary
// whose output had stopped (labproto.Stall): the outer guest boots again
// and goes on from the test that hung, which runs once more. A test that
// hangs every time fails when the retries run out.
type StallError struct {
	Binary, Test string
	Silent       int // seconds
}

func (e *StallError) Error() string {
	test := e.Test
	if test == "" {
		test = "no test yet"
	}
	return fmt.Sprintf("%s stopped giving output for %ds while %s ran, and was stopped; where its processes were is in the console log", e.Binary, e.Silent, test)
}

// Stalled reports whether QEMU was stopped after a test hung.
func (b Boot) Stalled() bool {
	var s *StallError
	return errors.As(b.Stopped, &s)
}

// LockupError stops a run whose outer kernel reported a soft lockup.
type LockupError struct{ Seconds int }

func (e *LockupError) Error() string {
	return fmt.Sprintf("the outer kernel reports a CPU stuck for %ds (soft lockup): the emulated host hung", e.Seconds)
}

// Boot runs QEMU under software emulation until the outer guest powers off
// or a limit (Timeout, Idle, MaxLockup) stops it. Every console line is
// written to console prefixed with the host seconds since QEMU started.
func (q QEMU) Boot(ctx context.Context, console io.Writer) (Boot, error) {
	bin := q.Binary
	if bin == "" {
		bin = "qemu-system-x86_64"
	}
	if _, err := exec.LookPath(bin); err != nil {
		return Boot{}, fmt.Errorf("%s not found: install qemu-system-x86 (apt-get install qemu-system-x86): %w", bin, err)
	}
	if q.Events == "" {
		return Boot{}, errors.New("the outer guest needs a file for its events")
	}
	ctx, cancel := context.WithTimeoutCause(ctx, q.Timeout, fmt.Errorf("the lab ran past its %v limit", q.Timeout))
	defer cancel()
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	cmd := exec.CommandContext(ctx, bin, q.args(bin)...)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		return Boot{}, err
	}
	cmd.Stderr = cmd.Stdout
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return Boot{}, fmt.Errorf("start %s: %w", bin, err)
	}
	active := func() {}
	if q.Idle > 0 {
		idle := time.AfterFunc(q.Idle, func() { stop(&HangError{Silent: q.Idle}) })
		defer idle.Stop()
		active = func() { idle.Reset(q.Idle) }
	}
	tail := tailEvents(q.Events, func(e labproto.Event) {
		active()
		if err := q.stopFor(e); err != nil {
			stop(err) // only the first cause counts
		}
	})
	b := Boot{Lines: q.readConsole(out, console, start, active, func(err error) { stop(err) })}
	werr := cmd.Wait()
	b.Events = tail.close()
	b.Panic = panicLine(b.Lines)
	if ctx.Err() != nil {
		b.Stopped = context.Cause(ctx)
		fmt.Fprintf(console, "lab: stopped QEMU: %v\n", b.Stopped)
		return b, nil
	}
	if werr != nil {
		return b, fmt.Errorf("%s: %w", bin, werr)
	}
	return b, nil
}

// args is QEMU's command line: the console on stdio, the events channel
// on the second serial port.
func (q QEMU) args(bin string) []string {
	cpu := q.CPU
	if cpu == "" {
		cpu = "max"
	}
	args := append(firmwareDirs(bin), "-accel", "tcg", "-cpu", cpu, "-smp", fmt.Sprint(q.SMP), "-m", q.Memory,
		"-nographic", "-nodefaults", "-no-reboot", "-serial", "stdio", "-serial", "file:"+q.Events,
		"-kernel", q.Kernel, "-initrd", q.Initrd, "-append", q.Append)
	for _, d := range q.Disks {
		drive := "file=" + d.Path + ",if=virtio,format=raw"
		if d.ReadOnly {
			drive += ",readonly=on"
		}
		args = append(args, "-drive", drive)
	}
	return args
}

// stopFor says why event e stops QEMU, or nil: a test binary testwatch
// stopped.
func (q QEMU) stopFor(e labproto.Event) error {
	if e.Action == labproto.Stall {
		return &StallError{Binary: e.Package, Test: e.Test, Silent: e.Seconds}
	}
	return nil
}

// readConsole copies the console to w, each line stamped with the
// seconds since start, calls active for each, and returns the lines. A
// line with which the outer kernel says a CPU has been stuck MaxLockup
// or longer stops QEMU through stop: a kernel with its CPUs stuck runs no
// user space to send an event, but prints that itself.
func (q QEMU) readConsole(r io.Reader, w io.Writer, start time.Time, active func(), stop func(error)) []string {
	var lines []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		active()
		line := strings.ReplaceAll(sc.Text(), "\r", "")
		lines = append(lines, line)
		fmt.Fprintf(w, "[%8.2f] %s\n", time.Since(start).Seconds(), line)
		if n := lockupSeconds(line); q.MaxLockup > 0 && n >= 0 && time.Duration(n)*time.Second >= q.MaxLockup {
			stop(&LockupError{Seconds: n})
		}
	}
	return lines
}

var reLockup = regexp.MustCompile(`soft lockup - CPU#\d+ stuck for (\d+)s!`)

// lockupSeconds returns how long a kernel soft-lockup report says a CPU
// has been stuck, or -1 when line is not one.
func lockupSeconds(line string) int {
	m := reLockup.FindStringSubmatch(line)
	if m == nil {
		return -1
	}
	n, err := strconv.Atoi(m[1])
	if err != nil {
		return -1
	}
	return n
}

// panicLine is the outer kernel's panic message on its console, if any:
// the kernel prints it itself, with no user space left to send an event.
func panicLine(lines []string) string {
	for _, l := range lines {
		if i := strings.Index(l, "Kernel panic - not syncing"); i >= 0 {
			return l[i:]
		}
	}
	return ""
}

// firmwareDirs gives a QEMU unpacked elsewhere (dpkg -x of a newer
// package) its own firmware first and the installed one after it: its
// data package's links into seabios dangle there.
func firmwareDirs(bin string) []string {
	path, err := exec.LookPath(bin)
	if err != nil {
		return nil
	}
	own := filepath.Join(filepath.Dir(path), "..", "share", "qemu")
	if filepath.Clean(own) == "/usr/share/qemu" {
		return nil
	}
	if _, err := os.Stat(own); err != nil {
		return nil
	}
	return []string{"-L", own, "-L", "/usr/share/qemu"}
}

// Version is what the QEMU binary says of its version ("" if it says
// nothing).
func (q QEMU) Version() string {
	bin := q.Binary
	if bin == "" {
		bin = "qemu-system-x86_64"
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return ""
	}
	first, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(first)
}
