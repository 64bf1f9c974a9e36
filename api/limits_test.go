package api

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A long request line or header block is refused before the parser
// allocates it: 414 and 431, and the server goes on.
func TestRequestHeadLimits(t *testing.T) {
	path := serve(t, &fakeVM{})
	for _, c := range []struct {
		name, req string
		code      int
	}{
		{"request line", "GET /" + strings.Repeat("a", 9<<10) + " HTTP/1.1\r\n\r\n", 414},
		{"endless request line", "GET /" + strings.Repeat("a", 1<<20), 414},
		{"one long header", "GET /vm HTTP/1.1\r\nX: " + strings.Repeat("b", 9<<10) + "\r\n\r\n", 431},
		{"many headers", "GET /vm HTTP/1.1\r\n" + strings.Repeat("X-A: 0123456789\r\n", 1000) + "\r\n", 431},
		{"headers that never end", "GET /vm HTTP/1.1\r\n" + strings.Repeat("X-A: 0123456789\r\n", 100000), 431},
		{"within the limits", "GET /vm HTTP/1.1\r\nX: " + strings.Repeat("b", 7<<10) + "\r\n\r\n", 200},
	} {
		conn, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		go io.WriteString(conn, c.req) // the server may answer before it has read it all
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil || resp.StatusCode != c.code {
			t.Errorf("%s: %v %v, want %d", c.name, resp, err, c.code)
		}
		conn.Close()
	}
	if code, _ := raw(t, path, request("GET", "/vm", "")); code != 200 {
		t.Fatal("the server stopped answering")
	}
}

// hugeStatusVM answers GET /vm with more than a unix socket buffers.
type hugeStatusVM struct{ fakeVM }

func (h *hugeStatusVM) Status() Status {
	s := Status{Exits: map[string]uint64{}}
	for i := range 50000 {
		s.Exits[fmt.Sprintf("cause %d", i)] = uint64(i)
	}
	return s
}

// A client that asks and never reads keeps nobody waiting: Close ends
// its connection after the grace period.
func TestCloseDoesNotWaitForAClientThatDoesNotRead(t *testing.T) {
	path := t.TempDir() + "/api.sock"
	ln, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	s := Serve(ln, &hugeStatusVM{})
	conn, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, request("GET", "/vm", ""))
	time.Sleep(100 * time.Millisecond) // the server is now stuck writing
	closed := make(chan error)
	go func() { closed <- s.Close() }()
	select {
	case <-closed:
	case <-time.After(30 * time.Second): // the grace period and more
		t.Fatal("Close still waits for a client that does not read")
	}
}

// flakyListener fails its first accepts as a process out of file
// descriptors does.
type flakyListener struct {
	*net.UnixListener
	fails int
}

func (f *flakyListener) AcceptUnix() (*net.UnixConn, error) {
	if f.fails > 0 {
		f.fails--
		return nil, &net.OpError{Op: "accept", Net: "unix", Err: syscall.EMFILE}
	}
	return f.UnixListener.AcceptUnix()
}

// One EMFILE does not end the API: the next client is answered.
func TestAPIOutlivesEMFILE(t *testing.T) {
	path := t.TempDir() + "/api.sock"
	ln, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	s := Serve(&flakyListener{UnixListener: ln, fails: 2}, &fakeVM{})
	defer s.Close()
	if code, _ := raw(t, path, request("GET", "/vm", "")); code != 200 {
		t.Fatalf("GET /vm after EMFILE: %d", code)
	}
}
