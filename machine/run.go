package machine

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vmmlab/vmm/kvm"
	"github.com/vmmlab/vmm/memory"
	"github.com/vmmlab/vmm/runresult"
)

// Kind says how a run ended.
type Kind int

// The ways a run ends.
const (
	PowerOff    Kind = iota // the guest powered off
	Reset                   // the guest rebooted
	Halted                  // a vCPU halted with nothing to wake it
	Interrupted             // the host asked vmm to stop (a signal, the escape key)
	Crashed                 // triple fault, failed entry, internal error, guest panic event
	Failed                  // vmm itself failed (an ioctl error)
	// MemoryChanged: a restored guest's RAM lost its backing, because the
	// snapshot's memory file was truncated or rewritten while it ran.
	MemoryChanged
)

// String is the kind as vmm's --json result names it (its reason).
func (k Kind) String() string {
	return [...]string{runresult.PowerOff, runresult.Reset, runresult.Halted, runresult.Interrupted, runresult.Crashed,
		runresult.Failed, runresult.SnapshotMemoryChanged}[k]
}

// Clean reports whether the guest ended on its own terms.
func (k Kind) Clean() bool { return k == PowerOff || k == Reset || k == Halted }

// Event is why the machine stopped.
type Event struct {
	Kind   Kind
	Cause  string // for Crashed and Failed: runresult's Cause* (what stopped the run)
	Detail string // one line
	Dump   string // registers of the vCPU that crashed, or of every vCPU when the host stopped the run
	VCPUs  []runresult.VCPU
	Err    error
}

// withDump is ev with the state of vCPU c (its registers, for people
// and for programs).
func (ev Event) withDump(c *kvm.VCPU, mem guestReader) Event {
	text, state := registerDump(c, mem)
	ev.Dump, ev.VCPUs = text, []runresult.VCPU{state}
	return ev
}

type events struct {
	once     sync.Once
	ch       chan Event
	stopping atomic.Bool
}

func newEvents() *events { return &events{ch: make(chan Event, 1)} }

// stop records the first event; later ones are dropped.
func (e *events) stop(ev Event) {
	e.once.Do(func() {
		e.stopping.Store(true)
		e.ch <- ev
	})
}

// Result is how a run went.
type Result struct {
	Event
	SetupTime time.Duration // building the machine
	Start     time.Time     // Config.Start, the origin of the durations here
	FirstRun  time.Duration // vmm start (Config.Start) to the first KVM_RUN
	// SetupSteps are the parts of building the machine with their end times.
	SetupSteps []Step
	// Exits counts the exits that reached vmm, by cause ("io 0x3f8").
	Exits    map[string]uint64
	RunTime  time.Duration // from the first KVM_RUN to the stop
	BootTime time.Duration // vmm start to the guest's "booted" write
	Booted   bool          // the guest wrote the boot timer
	Restored bool          // the machine came from a snapshot: its guest booted before it
	// GuestStatus is the workload exit status the guest init reported
	// (HasGuestStatus tells whether it did).
	GuestStatus    int
	HasGuestStatus bool
	// Accesses to ports and MMIO addresses that no device claimed.
	UnhandledPIO, UnhandledMMIO uint64
	// DeviceFailures are the devices that gave up (NEEDS_RESET), by name
	// with the reason: "virtio-blk 0 (disk.img): ...".
	DeviceFailures []string
	// DeviceCounters are what devices that count report, by device name
	// ("virtio-balloon": {"reported_bytes": ...}).
	DeviceCounters map[string]map[string]uint64
	// RunFaults are the host page faults vmm took from the first KVM_RUN
	// to the stop (getrusage): guest RAM the host mapped on first touch,
	// which a restore's prefetch takes before the run.
	RunFaults int64
	// WorkingSet is what a restore did with its working set (nil: a boot).
	WorkingSet *WorkingSetReport
}

// Run runs every vCPU until the guest powers off, resets or crashes, or
// ctx is cancelled; it returns once every vCPU has stopped.
func (m *Machine) Run(ctx context.Context) Result {
	start := time.Now()
	faults := hostFaults()
	if m.tr != nil {
		m.tr.Mark("boot", "first KVM_RUN", start)
		for i := range m.cpus {
			m.tr.Thread(i, fmt.Sprintf("vCPU %d", i))
		}
		m.tr.Thread(doorbellThread, "virtio notifications (ioeventfd)")
	}
	var wg sync.WaitGroup
	for i, c := range m.cpus {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.runVCPU(i, c)
		}()
	}
	var ev Event
	select {
	case ev = <-m.ev.ch:
	case <-ctx.Done():
		m.ev.stop(Event{Kind: Interrupted, Detail: "stopped by the host: " + context.Cause(ctx).Error()})
		ev = <-m.ev.ch
	}
	m.pause.stop()
	m.kickUntilStopped(&wg)
	m.life.end() // a snapshot under way finishes first; nothing starts after
	if m.tr != nil {
		m.tr.Mark("boot", "stopped: "+ev.Kind.String(), time.Now())
	}
	if ev.Kind == Interrupted || ev.Kind == MemoryChanged && ev.Dump == "" {
		// Where each vCPU was: what a hung guest was doing when the host
		// gave up on it, or when a device found guest RAM gone. The vCPU
		// threads have returned, so no KVM_RUN holds the vCPUs.
		dumps := make([]string, len(m.cpus))
		ev.VCPUs = make([]runresult.VCPU, len(m.cpus))
		for i, c := range m.cpus {
			dumps[i], ev.VCPUs[i] = registerDump(c, m.mem)
		}
		ev.Dump = strings.Join(dumps, "\n")
	}
	r := Result{Event: ev, SetupTime: m.setup, Start: m.start, FirstRun: start.Sub(m.start), SetupSteps: m.SetupSteps(), Exits: m.exits.snapshot(), RunTime: time.Since(start),
		UnhandledPIO: m.pio.Unhandled(), UnhandledMMIO: m.mmio.Unhandled(), Restored: m.restored}
	m.applyCoalesced() // the vCPUs have stopped: what they queued last is counted too (CoalescedWrites)
	r.BootTime, r.Booted = m.timer.Elapsed()
	r.GuestStatus, r.HasGuestStatus = m.exit.Get()
	r.DeviceFailures = deviceFailures(m.virtio)
	r.DeviceCounters = deviceCounters(m.virtio)
	r.RunFaults = hostFaults() - faults
	m.ws.recordAtStop(m.mem)
	r.WorkingSet = m.ws.reportNow()
	return r
}

// hostFaults is how many page faults this process has taken (minor and
// major, every thread).
func hostFaults() int64 {
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Minflt + ru.Majflt
}

// kickUntilStopped interrupts KVM_RUN on every vCPU thread until all vCPU
// goroutines have returned: immediate_exit makes a KVM_RUN that has not
// started yet return at once, the signal ends one that is blocked in a halt.
func (m *Machine) kickUntilStopped(wg *sync.WaitGroup) {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	for {
		m.pause.mu.Lock()
		tids := append([]int32(nil), m.pause.tids...)
		m.pause.mu.Unlock()
		m.kick(tids)
		select {
		case <-done:
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func (m *Machine) runVCPU(i int, c *kvm.VCPU) {
	// The thread stays locked: it exits with the goroutine, so no other
	// goroutine inherits a thread that KVM associates with this vCPU.
	runtime.LockOSThread()
	m.pause.enter(i, int32(unix.Gettid()))
	defer m.pause.leave(i)
	for !m.ev.stopping.Load() {
		if m.pause.park(func() bool { return m.settle(i, c) }) {
			return
		}
		m.clearKick(c)
		entered := m.traceTime()
		e, err := c.Run()
		if err != nil {
			m.runFailed(c, err)
			return
		}
		if m.serve(i, c, e, entered) {
			return
		}
	}
}

// settle completes what the vCPU's last exit left pending, as the KVM API
// asks before its state is read: KVM_RUN with immediate_exit finishes a
// port or MMIO access (the value read lands in the guest's register, its
// instruction pointer moves on) and returns without entering the guest.
// An access KVM splits in parts comes back as another exit, served here
// too. It returns true when the machine must stop.
func (m *Machine) settle(i int, c *kvm.VCPU) bool {
	c.SetImmediateExit(true)
	for {
		entered := m.traceTime()
		e, err := c.Run()
		if err != nil {
			m.runFailed(c, err)
			return true
		}
		if e.Reason == kvm.ExitIntr {
			return false
		}
		if m.serve(i, c, e, entered) {
			return true
		}
	}
}

// traceTime is now when a tracer records exits, else the zero time: the
// hot path reads no clock for a trace nobody takes.
func (m *Machine) traceTime() time.Time {
	if m.tr == nil {
		return time.Time{}
	}
	return time.Now()
}

// runFailed stops the machine on a KVM_RUN that failed. In a restored
// machine, EFAULT is KVM finding a page of guest RAM without its backing:
// the snapshot's memory file changed under the guest.
func (m *Machine) runFailed(c *kvm.VCPU, err error) {
	ev := Event{Kind: Failed, Cause: runresult.CauseKVMRunFailed}
	if m.restored && errors.Is(err, unix.EFAULT) {
		ev, err = Event{Kind: MemoryChanged}, fmt.Errorf("vCPU %d: %w: %w", c.ID(), memory.ErrFault, err)
	}
	ev.Detail, ev.Err = err.Error(), err
	m.ev.stop(ev.withDump(c, m.mem))
}

// memoryLost stops the machine when vmm's own access to guest RAM found
// it without its backing (a device goroutine, a register dump).
func (m *Machine) memoryLost(err error) {
	m.ev.stop(Event{Kind: MemoryChanged, Detail: err.Error(), Err: err})
}

// serve handles exit e of vCPU i, which KVM_RUN entered at entered,
// counts and traces it, and stops the machine when the exit says so
// (then it returns true).
func (m *Machine) serve(i int, c *kvm.VCPU, e kvm.Exit, entered time.Time) bool {
	t0 := time.Now()
	ev, stop := m.handleExit(c, e)
	t1 := time.Now()
	m.exits.add(e, t1.Sub(t0))
	if m.tr != nil {
		m.traceExit(i, entered, t0, t1, keyOf(e))
	}
	if stop {
		m.ev.stop(ev)
	}
	return stop
}

// handleExit serves one exit; stop is true when the machine must stop.
func (m *Machine) handleExit(c *kvm.VCPU, e kvm.Exit) (ev Event, stop bool) {
	m.applyCoalesced() // before any device sees this exit's access
	switch e.Reason {
	case kvm.ExitIO:
		m.portIO(e.IO)
	case kvm.ExitMMIO:
		if e.MMIO.IsWrite {
			m.mmio.Write(e.MMIO.Addr, e.MMIO.Data)
		} else {
			m.mmio.Read(e.MMIO.Addr, e.MMIO.Data)
		}
	case kvm.ExitIntr, kvm.ExitIRQWindowOpen:
	case kvm.ExitHLT:
		return Event{Kind: Halted, Detail: fmt.Sprintf("vCPU %d halted", c.ID())}, true
	case kvm.ExitShutdown:
		return Event{Kind: Crashed, Cause: runresult.CauseTripleFault, Detail: fmt.Sprintf("vCPU %d triple-faulted (KVM_EXIT_SHUTDOWN)", c.ID())}.withDump(c, m.mem), true
	case kvm.ExitSystemEvent:
		switch e.SystemEvent.Type {
		case kvm.SystemEventShutdown:
			return Event{Kind: PowerOff, Detail: "guest powered off (system event)"}, true
		case kvm.SystemEventReset:
			return Event{Kind: Reset, Detail: "guest reset (system event)"}, true
		}
		return Event{Kind: Crashed, Cause: runresult.CauseSystemEvent, Detail: fmt.Sprintf("vCPU %d: %v", c.ID(), e)}.withDump(c, m.mem), true
	default:
		return Event{Kind: Crashed, Cause: runresult.CauseKVMExit, Detail: fmt.Sprintf("vCPU %d: %v", c.ID(), e)}.withDump(c, m.mem), true
	}
	return Event{}, false
}

// portIO serves an IN or OUT, including string instructions (Count > 1).
func (m *Machine) portIO(io kvm.IOExit) {
	size := int(io.Size)
	for i := 0; i+size <= len(io.Data); i += size {
		chunk := io.Data[i : i+size]
		if io.Direction == kvm.IOOut {
			m.pio.Write(uint64(io.Port), chunk)
		} else {
			m.pio.Read(uint64(io.Port), chunk)
		}
	}
}
