package machine

import (
	"errors"
	"fmt"
	"sync"
)

// ErrBusy is an operation refused because another one is under way (a
// resume while a snapshot is written): the control API answers 409.
var ErrBusy = errors.New("the machine is busy")

// lifecycle serialises what changes a machine's run state from outside
// its vCPUs: pause, resume, snapshot, and the end of the run. One
// operation at a time: another that comes meanwhile is refused with
// ErrBusy, and any after the run ended with ErrNotRunning; the end of the
// run waits for the operation under way (a snapshot must not read a
// machine that Close is taking apart).
type lifecycle struct {
	mu    sync.Mutex
	cond  *sync.Cond
	busy  string // the operation under way; "" when none
	ended bool
}

// begin starts operation op, or says why it cannot start now.
func (l *lifecycle) begin(op string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.ended:
		return ErrNotRunning
	case l.busy != "":
		return fmt.Errorf("%w: %s is under way", ErrBusy, l.busy)
	}
	l.busy = op
	return nil
}

// done ends the operation begin started.
func (l *lifecycle) done() {
	l.mu.Lock()
	l.busy = ""
	if l.cond != nil {
		l.cond.Broadcast()
	}
	l.mu.Unlock()
}

// end marks the run over once the operation under way is done: no
// operation starts after it.
func (l *lifecycle) end() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cond == nil {
		l.cond = sync.NewCond(&l.mu)
	}
	l.ended = true
	for l.busy != "" {
		l.cond.Wait()
	}
}
