package e2e

import (
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vmmlab/vmm/api"
	"github.com/vmmlab/vmm/api/apiclient"
	"github.com/vmmlab/vmm/internal/netns"
	"github.com/vmmlab/vmm/internal/tapns"
)

// vmmProc is a vmm process whose output the test watches.
type vmmProc struct {
	cmd     *exec.Cmd
	console *watchBuffer // its stdout: the guest's console
	stderr  *watchBuffer // vmm's own lines, and --json's result
	started time.Time
	done    chan struct{} // closed once it has ended; err is then how
	err     error
	results string // --result-file of a boot or restore: its result, for labFault
}

// guestNet is a network namespace with a tap for one VM, the host side
// at hostAddr: the guest (always guestAddr) is reached through it.
type guestNet struct {
	ns  *netns.NS
	tap *os.File
}

func newGuestNet(t *testing.T, name string) guestNet {
	t.Helper()
	n, err := tapns.New(name, netip.MustParsePrefix(hostAddr+"/24"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return guestNet{ns: n.NS, tap: n.Tap}
}

// get fetches path from the guest through the namespace.
func (g guestNet) get(path string) (string, error) {
	c := &http.Client{Transport: &http.Transport{DialContext: g.ns.DialContext}, Timeout: time.Minute}
	b, err := httpGet(c, "http://"+guestAddr+path)
	return string(b), err
}

// waitGED waits until the guest's Generic Event Device took an
// interrupt (vmm raises it after writing a new VM generation ID) and
// returns the guest's /vmgenid answer.
func (g guestNet) waitGED(t *testing.T, name string) string {
	t.Helper()
	var page string
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(time.Second) {
		var err error
		if page, err = g.get("/vmgenid"); err == nil && strings.Contains(page, "ged 1\n") {
			return page
		}
	}
	t.Errorf("%s: the guest took no VM generation ID interrupt after the restore: %q", name, page)
	return page
}

// startVMM starts vmm with args, in net's namespace with its tap as fd 3
// when net is not nil. It is stopped when the test ends.
func startVMM(t *testing.T, vmm string, net *guestNet, args ...string) *vmmProc {
	t.Helper()
	p := newVMMProc(vmm, args...)
	p.start(t, net)
	return p
}

// newVMMProc is a vmm process to start, its console and stderr going to
// its own buffers (the test may change where they go before start).
func newVMMProc(vmm string, args ...string) *vmmProc {
	p := &vmmProc{console: &watchBuffer{}, stderr: &watchBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(vmm, args...)
	p.cmd.Stdout, p.cmd.Stderr = p.console, p.stderr
	return p
}

// start starts it, in net's namespace with its tap as fd 3 when net is
// not nil. It is stopped when the test ends.
func (p *vmmProc) start(t *testing.T, net *guestNet) {
	t.Helper()
	if a := p.cmd.Args; len(a) > 1 && (a[1] == "boot" || a[1] == "restore") {
		p.results = filepath.Join(t.TempDir(), "result")
		p.cmd.Args = append([]string{a[0], a[1], "--result-file", p.results}, a[2:]...)
	}
	p.started = time.Now()
	var err error
	if net != nil {
		p.cmd.ExtraFiles = []*os.File{net.tap}
		err = net.ns.Do(p.cmd.Start)
	} else {
		err = p.cmd.Start()
	}
	if err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(p.stop)
}

// startRetried starts vmm (startVMM) and waits with ready, which says
// whether it got as far as the test needs. One that did not is stopped
// and, when it hit one of the nested lab's known faults, started again
// (retryLabFault, up to labTries runs); one that still did not fails the test.
func startRetried(t *testing.T, tr *kvmTrace, vmm string, net *guestNet, ready func(*vmmProc) bool, args ...string) *vmmProc {
	t.Helper()
	type started struct {
		p     *vmmProc
		ready bool
	}
	s := retryLabFault(t, tr, fmt.Sprintf("vmm %v", args), labTries, func() (started, string, bool) {
		p := startVMM(t, vmm, net, args...)
		if ready(p) {
			return started{p, true}, "", false
		}
		p.stop()
		return started{p, false}, p.output(), true
	})
	if !s.ready {
		t.Fatalf("vmm %v did not get ready (%v)\n%s", args, s.p.err, s.p.output())
	}
	return s.p
}

// startUntil starts vmm with args and waits up to limit for marker in its
// output, again (up to labTries runs) after one of the nested lab's known faults
// (startRetried).
func startUntil(t *testing.T, vmm, marker string, limit time.Duration, args ...string) *vmmProc {
	t.Helper()
	return startRetried(t, startKVMTrace(t), vmm, nil, func(p *vmmProc) bool { return p.waitFor(marker, limit) }, args...)
}

// output is everything it printed: its console, then its stderr.
func (p *vmmProc) output() string {
	out := p.console.String() + "\n--- vmm's stderr:\n" + p.stderr.String()
	if p.results != "" {
		out += "\n--- vmm's --result-file:\n" + readFile(p.results)
	}
	return out
}

// waitFor says whether marker appeared in its output within limit. A vmm
// still running without it at the limit is stopped.
func (p *vmmProc) waitFor(marker string, limit time.Duration) bool {
	if p.until(limit, 100*time.Millisecond, func() bool { return strings.Contains(p.output(), marker) }) {
		return true
	}
	p.stop()
	return false
}

// until checks ok every so often and says whether it held within limit,
// while vmm ran: when vmm ended, ok gets one last look at its output,
// which is then all there.
func (p *vmmProc) until(limit, every time.Duration, ok func() bool) bool {
	for deadline := time.Now().Add(limit); ; {
		ended := p.exits(0)
		if ok() {
			return true
		}
		if ended || time.Now().After(deadline) {
			return false
		}
		select {
		case <-p.done:
		case <-time.After(every):
		}
	}
}

// exits says whether it ended within limit.
func (p *vmmProc) exits(limit time.Duration) bool {
	select {
	case <-p.done:
		return true
	case <-time.After(limit):
		return false
	}
}

// wait waits for it to end and says how it ended.
func (p *vmmProc) wait() error {
	<-p.done
	return p.err
}

// stop ends it, if it still runs: SIGTERM first, so that its last lines
// say how far it got and where its vCPUs were; SIGKILL 20 s later.
func (p *vmmProc) stop() {
	if p.exits(0) {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	if !p.exits(20 * time.Second) {
		p.cmd.Process.Kill()
		<-p.done
	}
}

// tail is the end of the VM's console and its stderr (for failures),
// stopping it first if it still runs, so that vmm's stop report is there.
func (p *vmmProc) tail() string {
	p.stop()
	con := strings.Split(p.console.String(), "\n")
	con = con[max(0, len(con)-40):]
	return fmt.Sprintf("%v; its console ended:\n%s\nstderr:\n%s", p.err, strings.Join(con, "\n"), p.stderr.String())
}

// pssKiB is the process's proportional set size.
func (p *vmmProc) pssKiB() int64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", p.cmd.Process.Pid))
	m := regexp.MustCompile(`(?m)^Pss:\s+(\d+) kB`).FindSubmatch(b)
	if m == nil {
		return -1
	}
	n, _ := strconv.ParseInt(string(m[1]), 10, 64)
	return n
}

// pauseAndSnapshot pauses the VM through its API, lets the console
// lines already out reach the test, calls read, and snapshots it into
// snap: paused first, because a snapshot of a running VM lets it go on,
// and the lines it prints then are not the snapshot's.
func (p *vmmProc) pauseAndSnapshot(t *testing.T, sock, snap string, read func()) api.SnapshotInfo {
	t.Helper()
	c := apiclient.New(sock, 5*time.Minute)
	if err := c.Pause(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	read()
	info, err := c.Snapshot(snap)
	if err != nil {
		t.Fatalf("snapshot: %v\nstderr:\n%s", err, p.stderr.String())
	}
	return info
}

var countLine = regexp.MustCompile(`(?m)^COUNT (\d+) (\d+)\r?$`)

// counts are the COUNT lines the guest printed: values and guest clock.
func (p *vmmProc) counts() (n, clock []int64) {
	for _, m := range countLine.FindAllStringSubmatch(p.console.String(), -1) {
		a, _ := strconv.ParseInt(m[1], 10, 64)
		b, _ := strconv.ParseInt(m[2], 10, 64)
		n, clock = append(n, a), append(clock, b)
	}
	return n, clock
}

// waitCount waits until the guest printed at least k COUNT lines and
// returns how long that took from vmm's start.
func (p *vmmProc) waitCount(t *testing.T, k int, limit time.Duration) time.Duration {
	t.Helper()
	d := p.waitCountOrZero(k, limit)
	if d == 0 {
		t.Fatalf("no %d COUNT lines within %v\nconsole:\n%s\nstderr:\n%s", k, limit, p.console.String(), p.stderr.String())
	}
	return d
}

// waitCountOrZero is waitCount's wait, with 0 for "not within limit" or
// "ended before" (for use from other goroutines than the test's).
func (p *vmmProc) waitCountOrZero(k int, limit time.Duration) time.Duration {
	if p.until(limit, 20*time.Millisecond, func() bool { n, _ := p.counts(); return len(n) >= k }) {
		return time.Since(p.started)
	}
	return 0
}

// checkGoesOn checks that a restored guest counts on from the snapshot's
// value (never from 1) with a clock that did not go back.
func checkGoesOn(t *testing.T, name string, c *vmmProc, last, lastClock int64) {
	t.Helper()
	n, clock := c.counts()
	if n[0] < last-1 || n[0] > last+2 || n[1] != n[0]+1 {
		t.Errorf("%s counts %v after a snapshot at %d", name, n, last)
	}
	if clock[0] < lastClock {
		t.Errorf("%s: the guest clock went back from %d to %d ms", name, lastClock, clock[0])
	}
}
