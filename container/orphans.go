package container

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// runscHelper says whether comm names one of gVisor's helper processes:
// runsc re-executes itself (/proc/self/exe, comm "exe") as the sandbox and
// the gofer, and they are orphaned to vmm, a child subreaper.
func runscHelper(comm string) bool {
	return comm == "exe" || strings.HasPrefix(comm, "runsc-")
}

// reapOrphans waits for zombie children of this process whose comm
// matches: orphans that only exist because vmm is a subreaper. Until they
// are reaped their PIDs stay valid, and runsc's delete waits for them to
// go. Processes vmm started itself (exec.Cmd) never match, so their own
// Wait still gets their status.
func reapOrphans(match func(comm string) bool) {
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
		if match(s[open+1 : close]) {
			var ws unix.WaitStatus
			unix.Wait4(pid, &ws, unix.WNOHANG, nil)
		}
	}
}

// reapWhile reaps matching orphans every 50 ms until done is closed.
func reapWhile(done <-chan struct{}, match func(comm string) bool) {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		reapOrphans(match)
		select {
		case <-done:
			reapOrphans(match)
			return
		case <-t.C:
		}
	}
}
