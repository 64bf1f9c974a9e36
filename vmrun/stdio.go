package vmrun

import (
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"

	"github.com/vmmlab/vmm/guestinit"
)

// streams are the host's end of a process's streams: a unix listener
// per vsock port, where the VM's vsock device delivers what the guest
// connects (path_PORT).
type streams struct {
	listeners []*net.UnixListener
	wg        sync.WaitGroup
	mu        sync.Mutex
	control   *net.UnixConn // set once the guest connected it
	pending   [][]byte      // control messages sent before it was
}

// listen opens the listeners for base (vmm boot --vsock uds=base):
// stdout, stderr, control, and stdin when stdin is not nil.
func listen(base string, stdin io.Reader, stdout, stderr io.Writer) (*streams, error) {
	s := &streams{}
	type port struct {
		n     uint32
		serve func(*net.UnixConn)
		wait  bool // wait lets it finish
	}
	ports := []port{{guestinit.PortStdout, func(c *net.UnixConn) { copyOut(c, stdout) }, true},
		{guestinit.PortStderr, func(c *net.UnixConn) { copyOut(c, stderr) }, true},
		{guestinit.PortControl, s.serveControl, true}}
	if stdin != nil {
		// not waited for: a terminal's read may never return
		ports = append(ports, port{guestinit.PortStdin, func(c *net.UnixConn) { copyIn(c, stdin) }, false})
	}
	for _, p := range ports {
		l, err := net.ListenUnix("unix", &net.UnixAddr{Name: fmt.Sprintf("%s_%d", base, p.n), Net: "unix"})
		if err != nil {
			s.close()
			return nil, fmt.Errorf("vsock port %d: %w", p.n, err)
		}
		s.listeners = append(s.listeners, l)
		done := func() {}
		if p.wait {
			s.wg.Add(1)
			done = s.wg.Done
		}
		go acceptOne(l, p.serve, done)
	}
	return s, nil
}

// acceptOne takes the guest's one connection on l and serves it.
func acceptOne(l *net.UnixListener, serve func(*net.UnixConn), done func()) {
	defer done()
	c, err := l.AcceptUnix()
	l.Close()
	if err != nil {
		return
	}
	serve(c)
}

// copyOut copies what the guest sends to w until it says it sends no
// more, then closes the connection: the guest waits for that before it
// powers off, so nothing is lost.
func copyOut(c *net.UnixConn, w io.Writer) {
	io.Copy(w, c)
	c.Close()
}

// copyIn copies r to the guest and then says no more comes.
func copyIn(c *net.UnixConn, r io.Reader) {
	io.Copy(c, r)
	c.CloseWrite()
}

// serveControl keeps the control connection for send, and sends what
// came before it.
func (s *streams) serveControl(c *net.UnixConn) {
	s.mu.Lock()
	s.control = c
	for _, m := range s.pending {
		c.Write(m)
	}
	s.pending = nil
	s.mu.Unlock()
	io.Copy(io.Discard, c) // until the guest closes it
	c.Close()
}

// signal sends sig to the process.
func (s *streams) signal(sig syscall.Signal) { s.send(guestinit.SignalMessage(sig)) }

// resize tells the process's terminal the user's terminal size.
func (s *streams) resize(rows, cols uint16) { s.send(guestinit.ResizeMessage(rows, cols)) }

// send writes a control message (or keeps it, in order, until the guest
// connects).
func (s *streams) send(m []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.control == nil {
		s.pending = append(s.pending, m)
		return
	}
	s.control.Write(m)
}

// close stops accepting; wait returns once every served stream ended.
func (s *streams) close() {
	for _, l := range s.listeners {
		l.Close()
	}
}

func (s *streams) wait() { s.wg.Wait() }
