package memory

import (
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
)

// ErrFault is wrapped by an access to guest RAM that the host could not
// back: a page of a snapshot's memory file that was truncated or
// rewritten under the running VM (SIGBUS on access).
var ErrFault = errors.New("guest RAM lost its backing: the snapshot's memory file changed")

// faults tells the machine, once, that guest RAM lost its backing.
type faults struct {
	once    sync.Once
	handler func(error)
}

// OnFault sets what to call, once, when an access finds guest RAM
// without its backing (the machine stops the VM). Call it before the
// guest runs.
func (g *Guest) OnFault(f func(error)) { g.faults.handler = f }

// fault reports a fault at guest address addr and returns its error.
func (g *Guest) fault(addr uint64) error {
	err := fmt.Errorf("guest address %#x: %w", addr, ErrFault)
	g.faults.once.Do(func() {
		if g.faults.handler != nil {
			g.faults.handler(err)
		}
	})
	return err
}

// guardedCopy copies src to dst, either of which is guest RAM at addr.
// RAM that maps a snapshot's file can lose its backing if the file
// changes; the copy then makes the Go runtime panic instead of killing
// vmm with SIGBUS (debug.SetPanicOnFault, for this goroutine only, for
// the copy only), and the panic becomes ErrFault.
func (g *Guest) guardedCopy(dst, src []byte, addr uint64) (err error) {
	if !g.fromFile {
		copy(dst, src) // anonymous memory cannot lose its backing
		return nil
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		if _, ok := r.(interface{ Addr() uintptr }); !ok {
			panic(r) // not a memory fault: a bug, left to crash
		}
		err = g.fault(addr)
	}()
	copy(dst, src)
	return nil
}
