package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	flag "github.com/spf13/pflag"

	"github.com/vmmlab/vmm/chrometrace"
	"github.com/vmmlab/vmm/confine"
	"github.com/vmmlab/vmm/devices/serial"
	"github.com/vmmlab/vmm/internal/selfmem"
	"github.com/vmmlab/vmm/kvm"
	"github.com/vmmlab/vmm/machine"
	"github.com/vmmlab/vmm/runresult"
)

// runOptions are the flags that say how a built machine runs; vmm boot
// and vmm restore share them.
type runOptions struct {
	seccomp, chroot, apiSock, snapshotOnReady string
	traceExits                                string // "", "on" or "live"
	traceOut                                  string // --trace-out FILE
	uid, gid                                  int
	json                                      bool
	resultFile                                string // --result-file: the --json result is appended there too
	unixSockets                               bool   // a device (vsock) makes and accepts unix sockets
	writesFiles                               bool   // the run writes into a snapshot (--working-set record)
}

// session is one VM run from the command line: the signals that stop it,
// the guest's console output, and the context that ends the run.
type session struct {
	ctx         context.Context
	cancel      context.CancelCauseFunc
	stopSignals func()
	console     *serial.Output
	ready       chan struct{} // closed when the guest wrote the boot timer (see whenBooted)
	readyOnce   sync.Once
	// trimAfter holds back the drop of vmm's set-up code (dropOwnPages)
	// until it is closed: s.ready for a boot, nil (at once) for a restore.
	trimAfter <-chan struct{}
	trace     *chrometrace.Recorder // --trace-out, written to traceFile at the end
	traceFile *os.File
	// results is --result-file, opened before the machine runs (a
	// confined vmm may not open files); nil without it.
	results *os.File
}

// openFiles opens the files the run writes at its end (--trace-out,
// --result-file) now, and returns the tracer to give the machine.
func (s *session) openFiles(o runOptions, start time.Time) (machine.Tracer, error) {
	if err := s.openResults(o.resultFile); err != nil {
		return nil, err
	}
	return s.startTrace(o.traceOut, start)
}

// openResults opens --result-file for appending, now.
func (s *session) openResults(path string) error {
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("--result-file: %w", err)
	}
	s.results = f
	return nil
}

// saveResult appends v, the run's result, to --result-file as one line.
func (s *session) saveResult(v any, stderr io.Writer) {
	if s.results == nil {
		return
	}
	if err := writeJSON(s.results, v); err != nil {
		fmt.Fprintln(stderr, "vmm: --result-file:", err)
	}
}

// traceEvents bounds the events --trace-out keeps in full (about 100
// bytes each); the rest are counted per second.
const traceEvents = 50000

// startTrace opens --trace-out's file now (a running vmm may not create
// files) and returns the recorder to give the machine (nil without one).
func (s *session) startTrace(path string, start time.Time) (machine.Tracer, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--trace-out: %w", err)
	}
	s.traceFile, s.trace = f, chrometrace.New(start, traceEvents)
	s.trace.Mark("vmm", "vmm start", start)
	return s.trace, nil
}

// writeTrace adds vmm's set-up steps to the timeline and writes it.
func (s *session) writeTrace(m *machine.Machine, start time.Time, w io.Writer) {
	if s.trace == nil {
		return
	}
	const setupThread = 999
	s.trace.Thread(setupThread, "vmm set-up")
	from := start
	for _, st := range m.SetupSteps() {
		to := start.Add(st.At)
		s.trace.Phase(setupThread, "setup", st.Name, from, to)
		from = to
	}
	s.trace.Mark("vmm", "machine built", start.Add(m.SetupTime()))
	_, err := s.trace.WriteTo(s.traceFile)
	if cerr := s.traceFile.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintln(w, "vmm: --trace-out:", err)
	}
}

// newSession catches SIGINT and SIGTERM from now on (one that arrives
// while the machine is built still stops it cleanly) and sets up the
// console output to stdout.
func newSession(stdout io.Writer) *session {
	s := &session{ready: make(chan struct{})}
	var ctx context.Context
	ctx, s.stopSignals = signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// A closed stdout is a write error the console output reports (and
	// the run ends with the terminal restored), not death by SIGPIPE.
	signal.Ignore(syscall.SIGPIPE)
	s.ctx, s.cancel = context.WithCancelCause(ctx)
	// The guest's console output never blocks a vCPU: it goes through a
	// bounded buffer that its own goroutine writes out (see serial.Output).
	s.console = serial.NewOutput(stdout, consoleBuffer, func(err error) { s.cancel(fmt.Errorf("console output: %w", err)) })
	return s
}

func (s *session) close() {
	s.cancel(nil)
	s.stopSignals()
	if s.results != nil {
		s.results.Close()
	}
}

// whenBooted wraps a boot-timer callback so that it also tells run that
// the guest is ready, for --snapshot-on-ready and dropOwnPages (on a vCPU
// thread: it must not block).
func (s *session) whenBooted(next func(time.Duration)) func(time.Duration) {
	return func(d time.Duration) {
		if next != nil {
			next(d)
		}
		s.readyOnce.Do(func() { close(s.ready) })
	}
}

// errSnapshotTaken ends a --snapshot-on-ready run.
var errSnapshotTaken = errors.New("the snapshot of the ready guest is taken")

// run runs the built machine m until it ends and reports how: it serves
// the control API, forwards the console, drops privileges and installs
// the seccomp filter as the flags say.
func (s *session) run(m *machine.Machine, o runOptions, booted chan struct{}, inputs time.Duration, stderr io.Writer) int {
	debug.FreeOSMemory()
	// From here on vmm allocates little (an exit allocates nothing; a
	// virtio request a few small objects, disk data goes through a fixed
	// buffer), so a low GC target costs little CPU. It keeps the heap near
	// what is live instead of letting it grow to Go's 4 MiB minimum goal
	// before collecting: that growth was a third of vmm's own memory.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(vmGCPercent)
	}
	info := m.Info()
	fmt.Fprintf(stderr, "vmm: machine ready in %v, starting %d vCPU(s) with %d MiB\n",
		m.SetupTime().Round(time.Millisecond), info.CPUs, info.MemSize>>20)
	apiListener := 0
	if o.apiSock != "" {
		srv, fd, err := serveAPI(o.apiSock, m, func() { s.cancel(errors.New("stopped through the control API")) })
		apiListener = fd
		if err != nil {
			fmt.Fprintln(stderr, "vmm:", err)
			return 1
		}
		defer srv.Close()
	}
	// Found now: once confined, vmm can no longer read its own mappings,
	// nor look at the host.
	own, ownErr := selfmem.Find()
	hostProblem := kvm.PVMProblem()
	restore := startConsole(os.Stdin, m, s.cancel, stderr, booted)
	if o.uid >= 0 || o.gid >= 0 || o.chroot != "" {
		if err := confine.Drop(o.identity()); err != nil {
			restore()
			fmt.Fprintln(stderr, "vmm:", err)
			return 1
		}
	} else if os.Geteuid() == 0 {
		fmt.Fprintln(stderr, "vmm: warning: the VM runs as root; --uid, --gid and --chroot drop that once it is set up (docs/production.md)")
	}
	if o.seccomp == "on" {
		if err := confine.Install(confine.Needs{UnixSockets: o.unixSockets, Listener: apiListener, SnapshotFiles: o.apiSock != "" || o.snapshotOnReady != "" || o.writesFiles}); err != nil {
			restore()
			fmt.Fprintln(stderr, "vmm:", err, "(--seccomp off runs without it)")
			return 1
		}
	}
	snap := make(chan snapshotOutcome, 1)
	if o.snapshotOnReady != "" {
		go func() {
			select {
			case <-s.ready:
			case <-s.ctx.Done():
				return
			}
			// Left paused: the guest must not run on (and write to its
			// disks) after the state it is saved in. An API snapshot
			// under way makes this one ErrBusy: the run then reports it.
			t, err := m.Snapshot(o.snapshotOnReady, true)
			snap <- snapshotOutcome{t, err}
			s.cancel(errSnapshotTaken)
		}()
	}
	go s.dropOwnPages(own, ownErr, stderr)
	liveCtx, stopLive := context.WithCancel(s.ctx)
	liveDone := make(chan struct{})
	go func() {
		defer close(liveDone)
		if o.traceExits == "live" {
			traceLive(liveCtx, stderr, m)
		}
	}()
	r := m.Run(s.ctx)
	stopLive()
	<-liveDone
	restore()
	s.writeTrace(m, info.Start, stderr)
	s.console.Close(time.Second) // a stalled stdout does not hold up the exit
	var trace *runresult.Trace
	if o.traceExits != "" {
		if o.json {
			trace = traceOf(m)
		} else {
			exitTable(stderr, m)
		}
	}
	if errors.Is(context.Cause(s.ctx), errSnapshotTaken) {
		out := <-snap
		if out.err == nil {
			s.saveResult(snapshotTaken(out, o.snapshotOnReady), stderr)
		}
		return reportSnapshot(out, o.snapshotOnReady, o.json, stderr)
	}
	j := resultOf(r, inputs, s.console.Dropped(), trace, hostProblem)
	s.saveResult(j, stderr)
	return report(r, j, o.json, stderr)
}

// dropOwnPages drops the pages of vmm's binary from its resident set once
// the guest has booted (s.trimAfter; at once for a restored guest), and
// again on selfmem.Redrops' schedule: most of vmm's code is set-up code,
// more runs once as the workload starts, and the pages the run goes on
// using come back at their next access. A failure costs only memory, so
// it is said and the VM runs on.
func (s *session) dropOwnPages(own selfmem.Binary, findErr error, stderr io.Writer) {
	if s.trimAfter != nil {
		select {
		case <-s.trimAfter:
		case <-s.ctx.Done():
			return
		}
	}
	err := findErr
	if err == nil {
		err = own.Keep(s.ctx, selfmem.Redrops())
	}
	if err != nil {
		fmt.Fprintln(stderr, "vmm: warning: vmm's set-up code stays resident:", err)
	}
}

type snapshotOutcome struct {
	t   machine.SnapshotTime
	err error
}

// reportSnapshot says how --snapshot-on-ready went: exit 0 once the
// snapshot is on disk.
func reportSnapshot(o snapshotOutcome, dir string, asJSON bool, w io.Writer) int {
	if o.err != nil {
		fmt.Fprintln(w, "vmm:", o.err)
		return 1
	}
	if asJSON {
		writeJSON(w, snapshotTaken(o, dir))
		return 0
	}
	fmt.Fprintf(w, "\nvmm: snapshot of the ready guest in %s (%v; %d MiB of guest RAM written)\n", dir, o.t.Total.Round(time.Millisecond), o.t.MemoryBytes>>20)
	return 0
}

// snapshotTaken is --snapshot-on-ready's result.
func snapshotTaken(o snapshotOutcome, dir string) runresult.SnapshotTaken {
	return runresult.SnapshotTaken{Reason: runresult.Snapshot, Dir: dir, PauseMS: ms(o.t.Pause), StateMS: ms(o.t.State),
		MemoryMS: ms(o.t.Memory), TotalMS: ms(o.t.Total), MemoryBytes: o.t.MemoryBytes}
}

// addRunFlags defines the flags of runOptions on fs.
func addRunFlags(fs *flag.FlagSet, o *runOptions) {
	fs.BoolVar(&o.json, "json", false, "print the result as one JSON object on stderr instead of a line of text")
	fs.StringVar(&o.resultFile, "result-file", "", "also append the result, as --json prints it, to this file (one line a run), for programs that run vmm")
	fs.StringVar(&o.seccomp, "seccomp", "on", "on: once the machine is built, a seccomp filter lets vmm make only the system calls a running VMM needs (any other kills it with SIGSYS); off: no filter (debugging)")
	fs.IntVar(&o.uid, "uid", -1, "once the machine is built, switch to this user (with --gid), dropping every capability")
	fs.IntVar(&o.gid, "gid", -1, "once the machine is built, switch to this group")
	fs.StringVar(&o.chroot, "chroot", "", "once the machine is built, chroot into this empty directory (not writable by --uid)")
	fs.StringVar(&o.apiSock, "api-sock", "", "serve the control API (HTTP/JSON: GET /vm; PUT /vm/pause, /vm/resume, /vm/snapshot, /vm/working-set, /vm/stop) on this unix socket, mode 0600; vmm ctl is its client")
	fs.StringVar(&o.traceExits, "trace-exits", "", "at the end, print the VM exits that reached vmm (by cause and device, with counts and handling times) and KVM's own statistics; =live also prints a line a second while the guest runs")
	fs.Lookup("trace-exits").NoOptDefVal = "on"
	fs.StringVar(&o.traceOut, "trace-out", "", "write the run's timeline to this file in the Chrome trace-event format (Perfetto, chrome://tracing): vmm's set-up steps, each vCPU's KVM_RUN and exit handling spans, virtio notifications, boot phases")
	fs.StringVar(&o.snapshotOnReady, "snapshot-on-ready", "", "when the guest writes the boot timer (vmm-init does, just before it starts the workload), snapshot the VM into this new directory and exit 0 (pre-warming for vmm restore)")
}

// check tests the run flags' values.
func (o runOptions) check() error {
	if o.seccomp != "on" && o.seccomp != "off" {
		return fmt.Errorf("--seccomp %q: want on or off", o.seccomp)
	}
	if o.traceExits != "" && o.traceExits != "on" && o.traceExits != "live" {
		return fmt.Errorf("--trace-exits=%q: want on or live", o.traceExits)
	}
	return o.identity().Check()
}

// identity is who vmm becomes once the machine is built.
func (o runOptions) identity() confine.Identity {
	return confine.Identity{UID: o.uid, GID: o.gid, Chroot: o.chroot}
}
