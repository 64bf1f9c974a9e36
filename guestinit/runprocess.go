package guestinit

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// runProcess runs an image's process as a child of the init (which stays
// PID 1 and reaps every orphan), with its streams on vsock, and returns
// its exit status: its own, 128+N for signal N, 126 or 127 when it could
// not be started.
func runProcess(con *os.File, p *Process) int {
	s := openStreams(con)
	defer s.close()
	if err := os.MkdirAll(p.Cwd, 0o755); err != nil {
		fmt.Fprintf(s.stderr, "vmm: working directory %s: %v\n", p.Cwd, err)
		return StatusOwnFailure
	}
	prog, err := lookPath(p.Args[0], p.Env)
	if err != nil {
		fmt.Fprintf(s.stderr, "vmm: %v\n", err)
		return startStatus(err)
	}
	files, sys := []*os.File{s.stdin, s.stdout, s.stderr}, &syscall.SysProcAttr{Setsid: true, Credential: credential(p.User)}
	var term *terminal
	if p.Terminal {
		if term, err = newTerminal(s); err != nil {
			fmt.Fprintf(s.stderr, "vmm: %v\n", err)
			return StatusOwnFailure
		}
		files, sys.Setctty, sys.Ctty = []*os.File{term.slave, term.slave, term.slave}, true, 0
	}
	proc, err := os.StartProcess(prog, p.Args, &os.ProcAttr{Dir: p.Cwd, Env: p.Env, Files: files, Sys: sys})
	if term != nil {
		term.started() // the process holds the slave now
	}
	if err != nil {
		fmt.Fprintf(s.stderr, "vmm: exec %s: %v\n", p.Args[0], err)
		return startStatus(err)
	}
	if s.control != nil {
		go relayControl(s.control, proc.Pid, term)
	}
	status := reapUntil(con, proc.Pid)
	proc.Release() // reaped above; this frees its pidfd
	if term != nil {
		term.drain()
	}
	return status
}

// credential is the user the process runs as.
func credential(u User) *syscall.Credential {
	groups := make([]uint32, len(u.AdditionalGids))
	copy(groups, u.AdditionalGids)
	return &syscall.Credential{Uid: u.UID, Gid: u.GID, Groups: groups}
}

// startStatus is the status of a process that could not be started:
// 127 when its program (or interpreter) is missing, else 126.
func startStatus(err error) int {
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, errNotFound) {
		return StatusNotFound
	}
	return StatusNotExecutable
}

var errNotFound = errors.New("executable file not found in $PATH")

// lookPath finds prog as execve would under the process's PATH: a name
// with a slash as it is, else the first executable regular file of that
// name in PATH.
func lookPath(prog string, env []string) (string, error) {
	if strings.Contains(prog, "/") {
		return prog, checkExecutable(prog)
	}
	path := ""
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		cand := filepath.Join(dir, prog)
		if checkExecutable(cand) == nil {
			return cand, nil
		}
	}
	return "", fmt.Errorf("exec %q: %w", prog, errNotFound)
}

// checkExecutable is nil for a regular file with an execute bit.
func checkExecutable(p string) error {
	st, err := os.Stat(p)
	switch {
	case err != nil:
		return err
	case st.IsDir():
		return fmt.Errorf("exec %s: is a directory", p)
	case st.Mode()&0o111 == 0:
		return fmt.Errorf("exec %s: %w", p, os.ErrPermission)
	}
	return nil
}

// relayControl carries out what the host sends on the control stream
// until it closes it: signals go to the process's group, a terminal size
// to its terminal.
func relayControl(control *os.File, pid int, term *terminal) {
	for {
		c, err := readControl(control)
		if err != nil {
			return
		}
		switch {
		case c.kind == ControlSignal && c.signal > 0 && c.signal < 65:
			unix.Kill(-pid, c.signal)
		case c.kind == ControlResize && term != nil:
			resize(term.master, c.rows, c.cols)
		}
	}
}

// reapUntil reaps every child until pid ends, and returns pid's status.
func reapUntil(con *os.File, pid int) int {
	for {
		var ws unix.WaitStatus
		got, err := unix.Wait4(-1, &ws, 0, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			logf(con, "wait: %v", err)
			return StatusOwnFailure
		}
		if got != pid {
			continue // an orphan the init adopted
		}
		if ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ws.ExitStatus()
	}
}
