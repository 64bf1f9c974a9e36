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
	"strconv"
	"strings"
	"time"

	"github.com/vmmlab/vmm/lab/labproto"
)

// QEMU describes one boot of the outer guest.
type QEMU struct {
	Binary string // default qemu-system-x86_64
	// Events, if set, is the file the outer guest's second serial port
	// (ttyS1) writes: the tests' events (events.go).
	Events  string
	Kernel  string
	Initrd  string
	Append  string
	Memory  string // e.g. "3G"
	SMP     int
	CPU     string // default "max": emulated AMD with SVM and NPT
	Timeout time.Duration
	// Idle stops QEMU when the console has been silent this long (0: never):
	// a hung outer guest then fails the run early instead of at Timeout.
	Idle time.Duration
	// MaxLockup stops QEMU when the outer kernel reports a CPU stuck in a
	// soft lockup for at least this long (0: never). Such a kernel does not
	// recover, and its console stays busy with stall reports, so Idle
	// would not fire.
	MaxLockup time.Duration
}

// Boot is what one QEMU run left behind.
type Boot struct {
	Lines []string // console lines, without the host timestamps
	// Stopped says why QEMU was killed (deadline, silence, lockup); nil
	// when the outer guest ended by itself.
	Stopped error
	// Panic is the outer kernel's panic line, if it panicked.
	Panic string
}

// OuterFailure says why the outer (emulated) guest failed, or "" when
// it did not: its kernel locked up or panicked, a test hung while the
// guest went on (testwatch stopped it: Stalled), or the guest reset before
// its script reached LAB-DONE, with no panic (QEMU exits on a reset:
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

// reachedDone reports whether the outer guest's script said LAB-DONE.
func (b Boot) reachedDone() bool {
	for i := len(b.Lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(b.Lines[i], labproto.Done) {
			return true
		}
	}
	return false
}

// HeartbeatLine is what the outer init prints once it starts printing a
// LAB-ALIVE line a minute (lab/outer-init.sh, test runs only).
const HeartbeatLine = labproto.Heartbeat

// HangError stops QEMU when its console has been silent too long.
type HangError struct{ Silent time.Duration }

func (e *HangError) Error() string {
	return fmt.Sprintf("no console output for %v: the outer guest hung", e.Silent)
}

// Hung reports whether QEMU was stopped for a silent console although
// the outer init had started its heartbeat: then the outer guest itself
// stopped running, not just a quiet test (which the heartbeat would
// have kept the console busy through, until go test's own timeout).
func (b Boot) Hung() bool {
	var h *HangError
	if !errors.As(b.Stopped, &h) {
		return false
	}
	for _, l := range b.Lines {
		if strings.HasPrefix(l, HeartbeatLine) {
			return true
		}
	}
	return false
}

// Lockup reports whether QEMU was stopped because the outer (emulated)
// kernel locked up, rather than a test hanging or failing.
func (b Boot) Lockup() bool {
	var l *LockupError
	return errors.As(b.Stopped, &l)
}

// StallError stops QEMU once cmd/testwatch has stopped a test binary
// whose output had stopped (LAB-STALL-END): the outer guest boots again
// and goes on from the test that hung, which runs once more. A test that
// hangs every time fails when the retries run out.
type StallError struct{ Report string }

func (e *StallError) Error() string {
	return "a test binary stopped giving output and was stopped (" + e.Report + "); where its processes were is in the console log"
}

// Stalled reports whether QEMU was stopped after a test hung.
func (b Boot) Stalled() bool {
	var s *StallError
	return errors.As(b.Stopped, &s)
}

// stallPrefix begins the line cmd/testwatch prints when it finds a test
// binary's output stopped; stallEndPrefix the one after it stopped it.
const (
	stallPrefix    = labproto.Stall + " "
	stallEndPrefix = labproto.StallEnd + " "
)

// LockupError stops a run whose outer kernel reported a soft lockup.
type LockupError struct{ Seconds int }

func (e *LockupError) Error() string {
	return fmt.Sprintf("the outer kernel reports a CPU stuck for %ds (soft lockup): the emulated host hung", e.Seconds)
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
	cpu := q.CPU
	if cpu == "" {
		cpu = "max"
	}
	ctx, cancel := context.WithTimeoutCause(ctx, q.Timeout, fmt.Errorf("the lab ran past its %v limit", q.Timeout))
	defer cancel()
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	args := append(firmwareDirs(bin), "-accel", "tcg", "-cpu", cpu, "-smp", fmt.Sprint(q.SMP), "-m", q.Memory,
		"-nographic", "-nodefaults", "-no-reboot", "-serial", "stdio",
		"-kernel", q.Kernel, "-initrd", q.Initrd, "-append", q.Append)
	if q.Events != "" {
		args = append(args, "-serial", "file:"+q.Events)
	}
	cmd := exec.CommandContext(ctx, bin, args...)
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
	var idle *time.Timer
	if q.Idle > 0 {
		idle = time.AfterFunc(q.Idle, func() {
			stop(&HangError{Silent: q.Idle})
		})
		defer idle.Stop()
	}
	var b Boot
	stall := "" // cmd/testwatch's first LAB-STALL line
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		if idle != nil {
			idle.Reset(q.Idle)
		}
		line := strings.ReplaceAll(sc.Text(), "\r", "")
		b.Lines = append(b.Lines, line)
		fmt.Fprintf(console, "[%8.2f] %s\n", time.Since(start).Seconds(), line)
		if i := strings.Index(line, "Kernel panic - not syncing"); i >= 0 && b.Panic == "" {
			b.Panic = line[i:]
		}
		if n := lockupSeconds(line); q.MaxLockup > 0 && n >= 0 && time.Duration(n)*time.Second >= q.MaxLockup {
			stop(&LockupError{Seconds: n}) // only the first cause counts
		}
		if strings.HasPrefix(line, stallPrefix) && stall == "" {
			stall = strings.TrimPrefix(line, stallPrefix)
		}
		if strings.HasPrefix(line, stallEndPrefix) {
			stop(&StallError{Report: stall})
		}
	}
	werr := cmd.Wait()
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
