package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vmmlab/vmm/bench/results"
	"github.com/vmmlab/vmm/bench/workload"
	"github.com/vmmlab/vmm/guestinit"
	"github.com/vmmlab/vmm/runresult"
)

// tailLines is how many output lines an instance keeps for failure reports.
const tailLines = 20

// lines collects a process's output: the last lines, the time the ready
// marker appeared, and the last line that looks like a JSON object (vmm's
// --json result).
type lines struct {
	mu      sync.Mutex
	last    []string
	json    string
	readyAt time.Time
	ready   chan struct{}
	marker  string // the text of the ready line
	// memReport is the guest init's memory report line, once printed.
	memReport string
}

func newLines(marker string) *lines { return &lines{ready: make(chan struct{}), marker: marker} }

func (l *lines) read(r io.Reader, done *sync.WaitGroup) {
	defer done.Done()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		l.add(sc.Text(), time.Now())
	}
	io.Copy(io.Discard, r) // an over-long line: keep the writer from blocking
}

func (l *lines) add(s string, at time.Time) {
	s = strings.TrimRight(s, "\r")
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.readyAt.IsZero() && strings.Contains(s, l.marker) {
		l.readyAt = at
		close(l.ready)
	}
	if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
		l.json = s
	}
	// The report may follow another writer's unfinished line on the
	// guest's console (the workload's, the kernel's).
	if i := strings.Index(s, guestinit.MemReportPrefix); i >= 0 {
		l.memReport = s[i:]
	}
	l.last = append(l.last, s)
	if len(l.last) > tailLines {
		l.last = l.last[len(l.last)-tailLines:]
	}
}

func (l *lines) tail() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.last, "\n")
}

func (l *lines) memReportLine() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.memReport
}

func (l *lines) lastJSON() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.json
}

// proc is an instance that is one host process (and its process group):
// the process target, a VMM, the docker CLI.
type proc struct {
	cmd    *exec.Cmd
	out    *lines
	reader sync.WaitGroup
	exited chan struct{}
	err    error // from Wait, once exited is closed
	// cleanup runs after the process is gone (taps, ...).
	cleanup func() error
	// extraPIDs adds processes outside the group (docker's shim).
	extraPIDs func() []int
	// onlyExtra leaves the launcher's own group out of pids (the docker
	// CLI only relays output; the container is elsewhere).
	onlyExtra bool
	lateFn    func() []results.Phase
	stopped   bool
}

// startProc starts cmd in its own process group with its output watched,
// and waits for the ready marker, the process's end, or ctx.
func startProc(ctx context.Context, cmd *exec.Cmd, in *Instance) (*proc, error) {
	return startProcFor(ctx, cmd, in, workload.Marker)
}

// startProcFor is startProc with the ready line's text; with none it
// returns once the process started.
func startProcFor(ctx context.Context, cmd *exec.Cmd, in *Instance, marker string) (*proc, error) {
	p := &proc{cmd: cmd, out: newLines(marker), exited: make(chan struct{})}
	// No Pdeathsig: it fires when the forking OS *thread* ends, and the
	// Go runtime ends threads that goroutines leave locked (entering the
	// bridge's network namespace does), which killed running instances.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	in.Launched = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	in.ops = p
	p.reader.Add(2)
	go p.out.read(stdout, &p.reader)
	go p.out.read(stderr, &p.reader)
	go func() {
		p.reader.Wait() // Wait closes the pipes: read them to the end first
		p.err = cmd.Wait()
		close(p.exited)
	}()
	if marker == "" {
		return p, nil // ready is a network condition the caller probes
	}
	select {
	case <-p.out.ready:
		in.Ready = p.out.readyAt.Sub(in.Launched)
		in.mark("ready", p.out.readyAt)
		return p, nil
	case <-p.exited:
		select {
		case <-p.out.ready: // printed the marker and ended at once
			in.Ready = p.out.readyAt.Sub(in.Launched)
			in.mark("ready", p.out.readyAt)
			return p, nil
		default:
		}
		p.stop()
		r, ok := p.result()
		return nil, withResult(fmt.Errorf("%s ended before it was ready (%v): %s", cmd.Args[0], p.err, failureLines(p.out.tail(), 5)), r, ok)
	case <-ctx.Done():
		p.stop()
		r, ok := p.result()
		return nil, withResult(fmt.Errorf("%s: not ready: %w: %s", cmd.Args[0], context.Cause(ctx), failureLines(p.out.tail(), 5)), r, ok)
	}
}

func (p *proc) wait(ctx context.Context) error {
	select {
	case <-p.exited:
		var ee *exec.ExitError
		if p.err != nil && !errors.As(p.err, &ee) {
			return p.err
		}
		if ee != nil && !ee.Exited() {
			return fmt.Errorf("%s: %v", p.cmd.Args[0], ee)
		}
		if code := p.cmd.ProcessState.ExitCode(); code != 0 {
			return fmt.Errorf("%s exited with status %d: %s", p.cmd.Args[0], code, failureLines(p.out.tail(), 5))
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s did not end: %w", p.cmd.Args[0], context.Cause(ctx))
	}
}

// stop sends SIGTERM to the process group, SIGKILL after a grace period,
// and waits for the process; then runs cleanup.
func (p *proc) stop() error {
	if p.stopped {
		return nil
	}
	p.stopped = true
	pgid := p.cmd.Process.Pid
	select {
	case <-p.exited:
	default:
		syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
			syscall.Kill(-pgid, syscall.SIGKILL)
			<-p.exited
		}
	}
	syscall.Kill(-pgid, syscall.SIGKILL) // anything left in the group
	if p.cleanup != nil {
		return p.cleanup()
	}
	return nil
}

func (p *proc) pids() []int {
	select {
	case <-p.exited:
		return nil
	default:
	}
	var out []int
	if !p.onlyExtra {
		out = groupPIDs(p.cmd.Process.Pid)
	}
	if p.extraPIDs != nil {
		out = append(out, p.extraPIDs()...)
	}
	return out
}

func (p *proc) late() []results.Phase {
	if p.lateFn == nil {
		return nil
	}
	return p.lateFn()
}

func (p *proc) tail() string { return p.out.tail() }

// guestMemReport is the guest init's memory report line ("" until it
// printed one).
func (p *proc) guestMemReport() string { return p.out.memReportLine() }

// result is the run result the process printed last (vmm --json), once
// it ended.
func (p *proc) result() (runresult.Result, bool) {
	select {
	case <-p.exited:
	default:
		return runresult.Result{}, false
	}
	r, err := runresult.Parse([]byte(p.out.lastJSON()))
	return r, err == nil
}

// groupPIDs lists the processes in process group pgid.
func groupPIDs(pgid int) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		var pid int
		if _, err := fmt.Sscanf(e.Name(), "%d", &pid); err != nil {
			continue
		}
		if g, err := syscall.Getpgid(pid); err == nil && g == pgid {
			out = append(out, pid)
		}
	}
	return out
}

// failureLines is what a failed run printed about why: the last n lines
// of its output, and before them, when it is not among them, vmm's own
// last line ("vmm: ...", how the VM stopped), which its register dump
// pushes out of the last lines.
func failureLines(s string, n int) string {
	ls := strings.Split(strings.TrimSpace(s), "\n")
	for i := len(ls) - 1; i >= 0; i-- {
		if strings.HasPrefix(ls[i], "vmm: ") {
			if i < len(ls)-n {
				return ls[i] + " | ... | " + lastLines(s, n)
			}
			break
		}
	}
	return lastLines(s, n)
}

func lastLines(s string, n int) string {
	ls := strings.Split(strings.TrimSpace(s), "\n")
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return strings.Join(ls, " | ")
}
