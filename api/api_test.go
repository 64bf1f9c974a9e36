package api

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeVM records what the API asked of it.
type fakeVM struct {
	mu        sync.Mutex
	paused    bool
	stopped   bool
	snapshots []string
	recorded  bool
	snapping  bool          // a snapshot is under way
	snapWait  chan struct{} // when set, Snapshot says it started, then waits for it
	started   chan struct{}
}

func (f *fakeVM) Status() Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	state := "running"
	if f.paused {
		state = "paused"
	}
	return Status{State: state, VCPUs: 2, MemoryBytes: 256 << 20, Exits: map[string]uint64{"io 0x3f8": 5}}
}

func (f *fakeVM) Pause() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.paused {
		return Conflict{errors.New("paused already")}
	}
	f.paused = true
	return nil
}

func (f *fakeVM) Resume() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.paused {
		return Conflict{errors.New("not paused")}
	}
	f.paused = false
	return nil
}

// Snapshot is one at a time, as the machine's are (machine.ErrBusy):
// the server leaves that to the VM and answers its conflict with 409.
func (f *fakeVM) Snapshot(dir string) (SnapshotInfo, error) {
	f.mu.Lock()
	if f.snapping {
		f.mu.Unlock()
		return SnapshotInfo{}, Conflict{errors.New("a snapshot is under way")}
	}
	f.snapping = true
	f.mu.Unlock()
	if f.snapWait != nil {
		f.started <- struct{}{}
		<-f.snapWait
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.snapping = false
	if dir == "/fail" {
		return SnapshotInfo{}, errors.New("disk full")
	}
	f.snapshots = append(f.snapshots, dir)
	return SnapshotInfo{TotalMS: 12}, nil
}

// RecordWorkingSet writes once; then it is a conflict.
func (f *fakeVM) RecordWorkingSet() (WorkingSetInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.recorded {
		return WorkingSetInfo{}, Conflict{errors.New("written already")}
	}
	f.recorded = true
	return WorkingSetInfo{Pages: 42}, nil
}

func (f *fakeVM) Stop() {
	f.mu.Lock()
	f.stopped = true
	f.mu.Unlock()
}

func serve(t *testing.T, vm VM) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "api.sock")
	ln, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	s := Serve(ln, vm)
	t.Cleanup(func() { s.Close() })
	return path
}

// raw sends one request as bytes and returns the status code and body.
func raw(t *testing.T, path, req string) (int, string) {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, req)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("%q: %v", req, err)
	}
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func request(method, path, body string) string {
	return fmt.Sprintf("%s %s HTTP/1.1\r\nHost: vmm\r\nContent-Length: %d\r\n\r\n%s", method, path, len(body), body)
}

func TestRoutes(t *testing.T) {
	vm := &fakeVM{}
	path := serve(t, vm)
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v, want 0600", st.Mode().Perm())
	}
	for _, c := range []struct {
		method, path, body string
		code               int
		contains           string
	}{
		{"GET", "/vm", "", 200, `"state":"running"`},
		{"PUT", "/vm/pause", "", 204, ""},
		{"PUT", "/vm/pause", "", 409, `"error":"paused already"`},
		{"GET", "/vm?x=1", "", 200, `"state":"paused"`},
		{"PUT", "/vm/resume", "", 204, ""},
		{"PUT", "/vm/resume", "", 409, "not paused"},
		{"PUT", "/vm/snapshot", `{"dir":"/snap"}`, 200, `"total_ms":12`},
		{"PUT", "/vm/snapshot", `{"dir":"/fail"}`, 500, "disk full"},
		{"PUT", "/vm/snapshot", `{"directory":"/snap"}`, 400, "dir"},
		{"PUT", "/vm/snapshot", `not json`, 400, "dir"},
		{"POST", "/vm/pause", "", 405, "does not take POST"},
		{"GET", "/nothing", "", 404, "no such path"},
		{"PUT", "/vm/working-set", "", 200, `"pages":42`},
		{"PUT", "/vm/working-set", "", 409, "written already"},
		{"PUT", "/vm/stop", "", 202, ""},
	} {
		code, body := raw(t, path, request(c.method, c.path, c.body))
		if code != c.code || !strings.Contains(body, c.contains) {
			t.Errorf("%s %s %s: %d %q, want %d with %q", c.method, c.path, c.body, code, body, c.code, c.contains)
		}
	}
	if !vm.stopped || len(vm.snapshots) != 1 {
		t.Errorf("the VM saw stop=%v snapshots=%v", vm.stopped, vm.snapshots)
	}
}

// Malformed requests get 4xx answers, and the server goes on.
func TestBadRequests(t *testing.T) {
	path := serve(t, &fakeVM{})
	for _, c := range []struct {
		req  string
		code int
	}{
		{"GARBAGE\r\n\r\n", 400},
		{"GET /vm HTTP/2\r\n\r\n", 400},
		{"PUT /vm/snapshot HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n", 413},
		{"PUT /vm/snapshot HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400},
		{"PUT /vm/snapshot HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
		{"PUT /vm/snapshot HTTP/1.1\r\nContent-Length: 10\r\n\r\nshort", 400},
	} {
		c2, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c2, c.req)
		c2.(*net.UnixConn).CloseWrite()
		resp, err := http.ReadResponse(bufio.NewReader(c2), nil)
		if err != nil || resp.StatusCode != c.code {
			t.Errorf("%q: %v %v, want %d", c.req, resp, err, c.code)
		}
		c2.Close()
	}
	if code, _ := raw(t, path, request("GET", "/vm", "")); code != 200 {
		t.Fatal("the server stopped answering")
	}
}

// A second snapshot while one is under way is refused (the VM says it is
// busy; the server answers 409); the server keeps answering other
// requests.
func TestOneSnapshotAtATime(t *testing.T) {
	vm := &fakeVM{snapWait: make(chan struct{}), started: make(chan struct{}, 1)}
	path := serve(t, vm)
	done := make(chan int)
	go func() {
		code, _ := raw(t, path, request("PUT", "/vm/snapshot", `{"dir":"/a"}`))
		done <- code
	}()
	select {
	case <-vm.started:
	case <-time.After(10 * time.Second):
		t.Fatal("the first snapshot never started")
	}
	if code, body := raw(t, path, request("PUT", "/vm/snapshot", `{"dir":"/b"}`)); code != 409 {
		t.Fatalf("second snapshot: %d %s", code, body)
	}
	if code, _ := raw(t, path, request("GET", "/vm", "")); code != 200 {
		t.Fatal("GET /vm during a snapshot")
	}
	close(vm.snapWait)
	if code := <-done; code != 200 {
		t.Fatalf("first snapshot: %d", code)
	}
}

// FuzzReadRequest: no request bytes make the parser panic or hang.
func FuzzReadRequest(f *testing.F) {
	f.Add([]byte(request("PUT", "/vm/snapshot", `{"dir":"/x"}`)))
	f.Add([]byte("GET / HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc"))
	f.Fuzz(func(t *testing.T, b []byte) {
		readRequest(bufio.NewReader(bytes.NewReader(b)))
	})
}
