package container

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// runscHelper says whether comm names one of gVisor's helper processes:
// runsc re-executes itself (/proc/self/exe, comm "exe") as the sandbox and
// the gofer, and they are orphaned to vmm, a child subreaper.
func runscHelper(comm string) bool {
	return comm == "exe" || strings.HasPrefix(comm, "runsc-")
}

// waited is the set of workload processes a Container of a runtime
// waits for: the reaper leaves them (a runsc sandbox's comm is "exe" too,
// and so is a workload's named so), so each Container gets its own exit
// status. Its zero value is empty and ready.
type waited struct {
	mu   sync.Mutex
	pids map[int]bool
}

func (w *waited) add(pid int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.pids == nil {
		w.pids = map[int]bool{}
	}
	w.pids[pid] = true
}

func (w *waited) remove(pid int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.pids, pid)
}

func (w *waited) has(pid int) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pids[pid]
}

// reapOrphans waits for zombie children of this process whose comm
// matches and that keep does not claim: orphans that only exist because
// vmm is a subreaper. Until they are reaped their PIDs stay valid, and
// runsc's delete waits for them to go. Processes vmm started itself
// (exec.Cmd) never match, and workloads a Container waits for are kept,
// so their own Wait still gets their status.
func reapOrphans(match func(comm string) bool, keep func(pid int) bool) {
	self := os.Getpid()
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		open, close := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || close < open || close+2 > len(s) {
			continue
		}
		var state string
		var ppid int
		if _, err := fmt.Sscan(s[close+2:], &state, &ppid); err != nil || ppid != self || state != "Z" {
			continue
		}
		if match(s[open+1:close]) && !keep(pid) {
			var ws unix.WaitStatus
			unix.Wait4(pid, &ws, unix.WNOHANG, nil)
		}
	}
}

// reapWhile reaps matching orphans every 50 ms until done is closed.
func reapWhile(done <-chan struct{}, match func(comm string) bool, keep func(pid int) bool) {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		reapOrphans(match, keep)
		select {
		case <-done:
			reapOrphans(match, keep)
			return
		case <-t.C:
		}
	}
}
