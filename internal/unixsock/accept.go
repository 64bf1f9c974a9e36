package unixsock

import (
	"errors"
	"net"
	"time"
)

// Acceptor is what AcceptLoop takes connections from (a
// *net.UnixListener).
type Acceptor interface {
	AcceptUnix() (*net.UnixConn, error)
}

// Accept backoff: an accept that fails for a reason other than a closed
// listener (EMFILE, ENFILE, ENOBUFS, ECONNABORTED) is tried again after
// a pause that doubles from the first to the last, as net/http's server
// does.
const (
	firstBackoff = 5 * time.Millisecond
	lastBackoff  = time.Second
)

// AcceptLoop hands each connection ln accepts to handle, on the calling
// goroutine, until ln is closed. A failed accept is retried (with
// backoff), so one moment out of file descriptors does not end the
// service for good.
func AcceptLoop(ln Acceptor, handle func(*net.UnixConn)) {
	var wait time.Duration
	for {
		c, err := ln.AcceptUnix()
		switch {
		case err == nil:
			wait = 0
			handle(c)
		case errors.Is(err, net.ErrClosed):
			return
		default:
			wait = min(max(2*wait, firstBackoff), lastBackoff)
			time.Sleep(wait)
		}
	}
}
