// Package api owns vmm's control API: HTTP/1.1 with JSON bodies on a
// unix socket (mode 0600), one request per connection. A client asks a
// running VM for its state and pauses, resumes, snapshots or stops it:
//
//	GET /vm              200 Status
//	PUT /vm/pause        204; 409 if paused already
//	PUT /vm/resume       204; 409 if not paused
//	PUT /vm/snapshot     {"dir": "..."}: 200 SnapshotInfo
//	PUT /vm/stop         202: the VM stops (after a snapshot under way), vmm exits
//	PUT /vm/working-set  200 WorkingSetInfo: a restore with --working-set record writes
//	                     the pages its guest touched into its snapshot; 409 if it does
//	                     not record or wrote them already
//
// Pause, resume and snapshot are one at a time: one that comes while
// another is under way gets 409, as does any after the run ended.
//
// Errors are {"error": "..."} with a 4xx or 5xx status. The package
// speaks just the HTTP it needs (a request line, headers, a body of
// Content-Length bytes) instead of net/http: net/http would add 5 MB to
// the vmm binary and 2 MB to every VM process's resident memory from
// start-up (measured with a static build), and vmm's own memory is one
// of the numbers the bench reports.
package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/vmmlab/vmm/internal/unixsock"
)

// Status is what GET /vm answers.
type Status struct {
	State       string            `json:"state"` // running or paused
	VCPUs       int               `json:"vcpus"`
	MemoryBytes uint64            `json:"memory_bytes"`
	UptimeMS    float64           `json:"uptime_ms"` // since vmm started
	Booted      bool              `json:"booted"`    // the guest wrote the boot timer
	BootMS      float64           `json:"boot_ms,omitempty"`
	Restored    bool              `json:"restored,omitempty"` // from a snapshot: the guest booted before it
	Exits       map[string]uint64 `json:"exits"`              // VM exits that reached vmm, by cause
}

// SnapshotInfo is what PUT /vm/snapshot answers: how long it took.
type SnapshotInfo struct {
	PauseMS     float64 `json:"pause_ms"`  // stopping vCPUs and devices
	StateMS     float64 `json:"state_ms"`  // reading vCPU and device state
	MemoryMS    float64 `json:"memory_ms"` // writing guest RAM
	TotalMS     float64 `json:"total_ms"`
	MemoryBytes int64   `json:"memory_bytes"` // guest RAM written (pages with data)
}

// WorkingSetInfo is what PUT /vm/working-set answers.
type WorkingSetInfo struct {
	Pages uint64 `json:"pages"` // guest pages written as the snapshot's working set
}

// VM is the running machine the API controls. It carries out one pause,
// resume or snapshot at a time, and says so with a Conflict.
type VM interface {
	Status() Status
	Pause() error
	Resume() error
	Snapshot(dir string) (SnapshotInfo, error)
	RecordWorkingSet() (WorkingSetInfo, error)
	Stop()
}

// Conflict marks an error that is the VM's state, not the server's fault
// (paused already, not paused): the answer is 409.
type Conflict struct{ Err error }

func (c Conflict) Error() string { return c.Err.Error() }
func (c Conflict) Unwrap() error { return c.Err }

// Listener is where the server takes its connections from (a
// *net.UnixListener from Listen).
type Listener interface {
	unixsock.Acceptor
	Close() error
}

// closeGrace is how long Close lets requests under way finish before it
// closes their connections.
const closeGrace = 2 * time.Second

// Server serves the API for one VM.
type Server struct {
	ln    Listener
	vm    VM
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[*net.UnixConn]struct{} // open connections, guarded by mu
}

// Listen makes the API socket at path, mode 0600 (see package unixsock
// for what happens to an existing file).
func Listen(path string) (*net.UnixListener, error) {
	ln, err := unixsock.Listen(path, true)
	if err != nil {
		return nil, fmt.Errorf("api socket: %w", err)
	}
	return ln, nil
}

// Serve answers requests on ln for vm until Close.
func Serve(ln Listener, vm VM) *Server {
	s := &Server{ln: ln, vm: vm, conns: map[*net.UnixConn]struct{}{}}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		unixsock.AcceptLoop(ln, s.start)
	}()
	return s
}

// start serves connection c on a goroutine of its own.
func (s *Server) start(c *net.UnixConn) {
	s.mu.Lock()
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.serveConn(c)
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	}()
}

// Close stops accepting, lets the requests under way finish for
// closeGrace, then closes their connections and waits for them.
func (s *Server) Close() error {
	err := s.ln.Close()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return err
	case <-time.After(closeGrace):
	}
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	<-done
	return err
}

// The API's paths, which the client calls.
const (
	PathVM       = "/vm"
	PathPause    = "/vm/pause"
	PathResume   = "/vm/resume"
	PathSnapshot = "/vm/snapshot"
	PathStop     = "/vm/stop"
	// PathWorkingSet records a restored guest's working set.
	PathWorkingSet = "/vm/working-set"
)

// handler answers a request with its body: a status code and a value to
// send as JSON (nil: no body).
type handler func(body []byte) (int, any)

// route is one request the API answers.
type route struct {
	method, path string
	handle       handler
}

// routes is the API: the one table the server dispatches on.
func (s *Server) routes() []route {
	return []route{
		{"GET", PathVM, func([]byte) (int, any) { return 200, s.vm.Status() }},
		{"PUT", PathPause, func([]byte) (int, any) { return result(s.vm.Pause(), 204) }},
		{"PUT", PathResume, func([]byte) (int, any) { return result(s.vm.Resume(), 204) }},
		{"PUT", PathSnapshot, s.snapshot},
		{"PUT", PathStop, func([]byte) (int, any) { s.vm.Stop(); return 202, nil }},
		{"PUT", PathWorkingSet, s.workingSet},
	}
}

// route answers one request: a status code and a value to send as JSON
// (nil: no body).
func (s *Server) route(method, path string, body []byte) (int, any) {
	var known []string
	pathKnown := false
	for _, r := range s.routes() {
		if r.method == method && r.path == path {
			return r.handle(body)
		}
		pathKnown = pathKnown || r.path == path
		known = append(known, r.method+" "+r.path)
	}
	if pathKnown {
		return 405, apiError(fmt.Sprintf("%s does not take %s", path, method))
	}
	return 404, apiError(fmt.Sprintf("no such path %.80q (%s)", path, strings.Join(known, ", ")))
}

// workingSet is PUT /vm/working-set.
func (s *Server) workingSet([]byte) (int, any) {
	info, err := s.vm.RecordWorkingSet()
	if code, body := result(err, 200); err != nil {
		return code, body
	}
	return 200, info
}

// snapshot is PUT /vm/snapshot {"dir": "..."}.
func (s *Server) snapshot(body []byte) (int, any) {
	var req struct {
		Dir string `json:"dir"`
	}
	if err := json.Unmarshal(body, &req); err != nil || req.Dir == "" {
		return 400, apiError(`want {"dir": "DIRECTORY"}`)
	}
	info, err := s.vm.Snapshot(req.Dir)
	if code, body := result(err, 200); err != nil {
		return code, body
	}
	return 200, info
}

type errorBody struct {
	Error string `json:"error"`
}

func apiError(msg string) errorBody { return errorBody{msg} }

func result(err error, ok int) (int, any) {
	var conflict Conflict
	switch {
	case err == nil:
		return ok, nil
	case errors.As(err, &conflict):
		return 409, apiError(err.Error())
	}
	return 500, apiError(err.Error())
}
