package vsock

import (
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/vmmlab/vmm/internal/unixsock"
)

// connectTimeout bounds how long a host program may take to send its
// CONNECT line.
const connectTimeout = 5 * time.Second

// accept serves the device's unix socket: each host program that
// connects says "CONNECT port\n" and is then joined to the guest's
// listener on that port. It ends when the listener is closed; a failed
// accept (out of file descriptors) is retried.
func (d *Device) accept(ln *net.UnixListener) {
	unixsock.AcceptLoop(ln, func(s *net.UnixConn) { go d.hostConnect(s) })
}

// readConnect reads the "CONNECT port" line one byte at a time:
// whatever the host program sends after it is stream data and stays in
// the socket.
func readConnect(s *net.UnixConn) (uint32, error) {
	s.SetReadDeadline(time.Now().Add(connectTimeout))
	defer s.SetReadDeadline(time.Time{})
	var line []byte
	var b [1]byte
	for len(line) < 32 {
		if _, err := io.ReadFull(s, b[:]); err != nil {
			return 0, fmt.Errorf("reading CONNECT: %w", err)
		}
		if b[0] == '\n' {
			port, ok := strings.CutPrefix(strings.TrimSpace(string(line)), "CONNECT ")
			if p, err := strconv.ParseUint(port, 10, 32); ok && err == nil {
				return uint32(p), nil
			}
			break
		}
		line = append(line, b[0])
	}
	return 0, fmt.Errorf("want \"CONNECT port\\n\", got %q", line)
}

// hostConnect asks the guest for a connection to the port the host
// program named; the guest's RESPONSE opens it (see Device.opened).
func (d *Device) hostConnect(s *net.UnixConn) {
	port, err := readConnect(s)
	if err != nil {
		fmt.Fprintf(s, "error: %v\n", err)
		s.Close()
		return
	}
	d.mu.Lock()
	c, err := d.newConn(connKey{host: d.freePort(), guest: port}, stateConnecting, s)
	if err != nil {
		d.mu.Unlock()
		fmt.Fprintf(s, "error: %v\n", err)
		s.Close()
		return
	}
	d.sendControl(c, opRequest, 0)
	d.hostConnects++
	d.mu.Unlock()
	go d.writeHost(c)
}

// freePort picks the host side's port for a host-initiated connection:
// counting up from 1<<30, skipping ports in use. The caller holds d.mu.
func (d *Device) freePort() uint32 {
	for {
		d.nextPort++
		if d.nextPort < 1<<30 {
			d.nextPort = 1 << 30
		}
		free := true
		for k := range d.conns {
			if k.host == d.nextPort {
				free = false
				break
			}
		}
		if free {
			return d.nextPort
		}
	}
}

// guestConnect dials the host listener at PATH_port for a guest REQUEST;
// the RESPONSE (or RST) goes to the guest once the dial is done.
func (d *Device) guestConnect(c *conn) {
	s, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: fmt.Sprintf("%s_%d", d.cfg.Path, c.key.host), Net: "unix"})
	d.mu.Lock()
	defer d.mu.Unlock()
	if c.gone {
		if s != nil {
			s.Close()
		}
		return
	}
	if err != nil {
		d.refused++
		d.drop(c, true)
		return
	}
	c.sock, c.state = s, stateOpen
	d.sendControl(c, opResponse, 0)
	go d.readHost(c)
	go d.writeHost(c)
}

// readHost copies the host socket into c.out, never holding more than
// the connection's buffer, until EOF, an error, or the connection is
// gone.
func (d *Device) readHost(c *conn) {
	buf := make([]byte, 16<<10)
	limit := int(d.cfg.BufSize)
	for {
		d.mu.Lock()
		for !c.gone && len(c.out) >= limit {
			c.cond.Wait()
		}
		if c.gone {
			d.mu.Unlock()
			return
		}
		room := min(limit-len(c.out), len(buf))
		d.mu.Unlock()
		n, err := c.sock.Read(buf[:room])
		d.mu.Lock()
		if c.gone {
			d.mu.Unlock()
			return
		}
		c.out = append(c.out, buf[:n]...)
		if err != nil {
			c.hostEOF = true
		}
		d.mu.Unlock()
		d.wakeRx()
		if err != nil {
			return
		}
	}
}

// writeHost writes what the guest sent to the host socket, in order.
// Once the guest said it sends no more and all is written, it shuts the
// socket's write side; if the guest also receives no more, the
// connection ends (RST). Each write gives the guest its credit back.
func (d *Device) writeHost(c *conn) {
	buf := make([]byte, 16<<10)
	for {
		d.mu.Lock()
		for !c.gone && len(c.greeting) == 0 && c.in.Len() == 0 && (c.peerShut&shutdownSend == 0 || c.halfClosed) {
			c.cond.Wait()
		}
		if c.gone {
			d.mu.Unlock()
			return
		}
		if len(c.greeting) == 0 && c.in.Len() == 0 { // the guest sends no more
			c.halfClosed = true
			if c.peerShut == shutdownRcv|shutdownSend {
				d.drop(c, true)
				d.mu.Unlock()
				return
			}
			d.mu.Unlock()
			c.sock.CloseWrite()
			continue
		}
		data, counted := c.greeting, false
		if len(data) > 0 {
			c.greeting = nil
		} else {
			data, counted = buf[:c.in.Read(buf)], true
		}
		d.mu.Unlock()
		_, err := c.sock.Write(data)
		d.mu.Lock()
		switch {
		case c.gone:
		case err != nil:
			d.drop(c, true)
		case counted:
			c.fwdCnt += uint32(len(data))
			d.toHost += uint64(len(data))
			// Credit back each time a quarter of the buffer is free
			// again: a guest out of credit has a whole buffer in flight,
			// so it always hears back, and does not wait for all of it.
			if c.fwdCnt-c.creditSent >= d.cfg.BufSize/4 {
				d.sendControl(c, opCreditUpdate, 0)
			}
		}
		gone := c.gone
		d.mu.Unlock()
		if gone {
			return
		}
	}
}
