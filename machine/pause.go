package machine

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vmmlab/vmm/kvm"
)

// Errors of Pause and Resume.
var (
	ErrNotRunning = errors.New("the machine is not running")
	ErrPaused     = errors.New("the machine is paused already")
	ErrNotPaused  = errors.New("the machine is not paused")
)

// pauser parks the vCPU goroutines between two KVM_RUNs while the
// machine is paused. Its mutex guards every field.
type pauser struct {
	mu      sync.Mutex
	cond    *sync.Cond
	paused  bool
	stopped bool // the run ended: nobody parks any more
	active  int  // vCPU goroutines running
	parked  int  // of those, the ones waiting for Resume
	tids    []int32
}

func newPauser(n int) *pauser {
	p := &pauser{tids: make([]int32, n)}
	p.cond = sync.NewCond(&p.mu)
	return p
}

// enter and leave bracket a vCPU goroutine: tid is its thread, which
// Pause interrupts.
func (p *pauser) enter(i int, tid int32) {
	p.mu.Lock()
	p.active++
	p.tids[i] = tid
	p.mu.Unlock()
}

func (p *pauser) leave(i int) {
	p.mu.Lock()
	p.active--
	p.tids[i] = 0
	p.cond.Broadcast()
	p.mu.Unlock()
}

// park holds the calling vCPU goroutine while the machine is paused.
// Before it parks, settle re-enters KVM_RUN to finish the exit the vCPU
// last came back with (KVM completes a port or MMIO read only then: until
// it does, the guest's registers do not hold what vmm answered, and a
// snapshot would make the restored guest repeat the access). settle
// returns true when the machine must stop; park then returns true too.
func (p *pauser) park(settle func() bool) (stop bool) {
	p.mu.Lock()
	if !p.paused || p.stopped {
		p.mu.Unlock()
		return false
	}
	p.mu.Unlock()
	if settle() {
		return true
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.paused || p.stopped {
		return false
	}
	p.parked++
	p.cond.Broadcast()
	for p.paused && !p.stopped {
		p.cond.Wait()
	}
	p.parked--
	return false
}

// stop releases every parked vCPU for good: the run is ending.
func (p *pauser) stop() {
	p.mu.Lock()
	p.stopped, p.paused = true, false
	p.cond.Broadcast()
	p.mu.Unlock()
}

// pauseTimeout bounds how long Pause waits for the vCPUs to leave
// KVM_RUN.
const pauseTimeout = 10 * time.Second

// Pause stops every vCPU between two runs and returns once all are
// parked: the guest's state (registers, memory) then stays as it is
// until Resume, except what devices still complete. The guest's clock
// keeps going; after Resume it sees the time that passed.
//
// Pause, Resume and Snapshot are one at a time (ErrBusy otherwise), and
// none starts once the run has ended.
func (m *Machine) Pause() error {
	if err := m.life.begin("a pause"); err != nil {
		return err
	}
	defer m.life.done()
	return m.pauseVCPUs()
}

// pauseVCPUs is Pause, for a caller that began an operation.
func (m *Machine) pauseVCPUs() error {
	p := m.pause
	p.mu.Lock()
	switch {
	case p.stopped || p.active == 0:
		p.mu.Unlock()
		return ErrNotRunning
	case p.paused:
		p.mu.Unlock()
		return ErrPaused
	}
	p.paused = true
	p.mu.Unlock()
	return m.waitParked()
}

// holdVCPUs pauses the machine without waiting (on a vCPU's thread,
// which parks once it has served its exit): the other vCPUs are kicked
// out of the guest. Snapshot waits for them all to park.
func (m *Machine) holdVCPUs() {
	p := m.pause
	p.mu.Lock()
	if p.stopped || p.paused {
		p.mu.Unlock()
		return
	}
	p.paused = true
	tids := append([]int32(nil), p.tids...)
	p.mu.Unlock()
	m.kick(tids)
}

// waitParked waits until every running vCPU has parked, kicking them
// out of the guest; past pauseTimeout it resumes them and fails.
func (m *Machine) waitParked() error {
	p := m.pause
	deadline := time.Now().Add(pauseTimeout)
	for {
		p.mu.Lock()
		stopped, done, tids := p.stopped, p.parked == p.active, append([]int32(nil), p.tids...)
		p.mu.Unlock()
		switch {
		case stopped: // the run ended meanwhile: nothing is paused
			return ErrNotRunning
		case done:
			return nil
		}
		if time.Now().After(deadline) {
			m.resumeVCPUs()
			return fmt.Errorf("pause: the vCPUs did not leave the guest within %v", pauseTimeout)
		}
		m.kick(tids)
		time.Sleep(time.Millisecond)
	}
}

// Resume lets paused vCPUs run again.
func (m *Machine) Resume() error {
	if err := m.life.begin("a resume"); err != nil {
		return err
	}
	defer m.life.done()
	return m.resumeVCPUs()
}

// resumeVCPUs is Resume, for a caller that began an operation.
func (m *Machine) resumeVCPUs() error {
	p := m.pause
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.paused {
		return ErrNotPaused
	}
	p.paused = false
	p.cond.Broadcast()
	return nil
}

// Paused reports whether the machine is paused.
func (m *Machine) Paused() bool {
	m.pause.mu.Lock()
	defer m.pause.mu.Unlock()
	return m.pause.paused
}

// kick makes every vCPU leave KVM_RUN: immediate_exit ends a KVM_RUN that
// has not started yet, the signal one that is under way or halted.
func (m *Machine) kick(tids []int32) {
	pid := unix.Getpid()
	for i, c := range m.cpus {
		c.SetImmediateExit(true)
		if tids[i] != 0 {
			// SIGURG is the Go runtime's preemption signal: its handler
			// ignores a spurious one, and KVM_RUN returns EINTR.
			unix.Tgkill(pid, int(tids[i]), unix.SIGURG)
		}
	}
}

// clearKick clears the immediate_exit a pause may have set on c before
// its next run, unless the run is stopping (then it must stay set). A
// kick that comes after this still interrupts the run: Pause and the
// stop kick again until every vCPU is out.
func (m *Machine) clearKick(c *kvm.VCPU) {
	if !m.ev.stopping.Load() {
		c.SetImmediateExit(false)
	}
}

// Info is a running machine's state, for the control API.
type Info struct {
	Paused   bool
	CPUs     int
	MemSize  uint64
	Uptime   time.Duration // since Config.Start
	BootTime time.Duration // Config.Start to the guest's boot-timer write
	Booted   bool
	Restored bool              // the machine came from a snapshot
	Exits    map[string]uint64 // exits that reached vmm, by cause
	Start    time.Time         // Config.Start
}

// Info says how the machine is doing now.
func (m *Machine) Info() Info {
	i := Info{Paused: m.Paused(), CPUs: len(m.cpus), MemSize: m.mem.Size(), Uptime: time.Since(m.start), Exits: m.exits.snapshot(), Start: m.start, Restored: m.restored}
	i.BootTime, i.Booted = m.timer.Elapsed()
	return i
}
