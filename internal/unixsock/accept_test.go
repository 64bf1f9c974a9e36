package unixsock

import (
	"net"
	"path/filepath"
	"syscall"
	"testing"
)

// flakyListener fails its first accepts as a process out of file
// descriptors does, then accepts from a real listener.
type flakyListener struct {
	fails int
	ln    *net.UnixListener
}

func (f *flakyListener) AcceptUnix() (*net.UnixConn, error) {
	if f.fails > 0 {
		f.fails--
		return nil, &net.OpError{Op: "accept", Net: "unix", Err: syscall.EMFILE}
	}
	return f.ln.AcceptUnix()
}

// EMFILE from accept does not end the loop: the connection made after it
// is still served; closing the listener ends it.
func TestAcceptLoopOutlivesEMFILE(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.sock")
	ln, err := Listen(path, true)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		AcceptLoop(&flakyListener{fails: 3, ln: ln}, func(c *net.UnixConn) { c.Close(); served <- struct{}{} })
		close(done)
	}()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	<-served
	ln.Close()
	<-done
}
