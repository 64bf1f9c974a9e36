package vsock

import (
	"net"
	"sync"
)

// connKey names a connection by its two ports: the host side's and the
// guest's (the CIDs are fixed: host 2, the guest's own).
type connKey struct{ host, guest uint32 }

// Connection states.
const (
	stateConnecting = iota // host-initiated: REQUEST sent, waiting for the guest's RESPONSE
	stateDialing           // guest-initiated: dialling the host's listener
	stateOpen
)

// conn is one stream between a host unix socket and a guest vsock
// socket. Every field is guarded by the device's mutex; cond (on that
// mutex) wakes the connection's two host goroutines.
type conn struct {
	key   connKey
	sock  *net.UnixConn // nil while dialling
	state int
	cond  *sync.Cond
	gone  bool // removed from the device: the goroutines end

	// host -> guest
	out          []byte // read from the host socket, not yet sent to the guest
	hostEOF      bool   // the host socket gave EOF or an error
	eofSent      bool   // the guest was told (SHUTDOWN, send)
	peerBufAlloc uint32 // the guest's receive buffer
	peerFwdCnt   uint32 // bytes the guest's applications have taken
	txCnt        uint32 // bytes sent to the guest

	// guest -> host
	greeting   []byte // vmm's own "OK port" line, first to the host socket; no guest data, no credit
	in         fifo   // the guest's bytes, to write to the host socket
	rxCnt      uint32 // bytes received from the guest
	fwdCnt     uint32 // of those, bytes written to the host socket
	creditSent uint32 // fwdCnt as the guest last heard it
	peerShut   uint32 // the guest's SHUTDOWN flags
	halfClosed bool   // the host socket's write side is shut
}

// credit is how many more bytes the guest can take now: its buffer less
// what is in flight. A guest that reports more taken than was sent gets
// no more than its buffer.
func (c *conn) credit() uint32 {
	inFlight := c.txCnt - c.peerFwdCnt
	if inFlight > c.peerBufAlloc {
		return 0
	}
	return c.peerBufAlloc - inFlight
}
