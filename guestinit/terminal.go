package guestinit

import (
	"io"
	"os"
	"sync"
	"time"
)

// terminal is an image process's pty (vmm run -t): its output, stdout
// and stderr alike, goes to the stdout stream, and the stdin stream (if
// any) to its input.
type terminal struct {
	master, slave *os.File
	copied        sync.WaitGroup
}

// newTerminal opens the pty and starts copying between it and s.
func newTerminal(s *streams) (*terminal, error) {
	master, slave, err := openPTY()
	if err != nil {
		return nil, err
	}
	t := &terminal{master: master, slave: slave}
	t.copied.Add(1)
	go func() {
		defer t.copied.Done()
		io.Copy(s.stdout, master)
	}()
	if s.stdin != nil {
		go io.Copy(master, s.stdin)
	}
	return t, nil
}

// started closes the init's copy of the slave, which the process has:
// the master then ends once the process and its children are done.
func (t *terminal) started() { t.slave.Close() }

// terminalDrain bounds the wait for the last output after the process
// ended (children it left may hold the terminal open).
const terminalDrain = time.Second

// drain waits until what the process wrote is copied, at most
// terminalDrain, then closes the master.
func (t *terminal) drain() {
	t.master.SetReadDeadline(time.Now().Add(terminalDrain))
	t.copied.Wait()
	t.master.Close()
}
