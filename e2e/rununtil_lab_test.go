package e2e

import (
	"context"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// runUntilFault runs name with args (setup, when not nil, sets its
// environment) and returns its output, stdout and stderr together. It
// ends the command's process group with SIGTERM at limit, or as soon as
// its output, or what more returns (a copy of vmm's output that a
// wrapper keeps), shows one of the nested lab's known faults
// (guestFault): the guest hangs after them. SIGTERM, so that a vmm
// still running prints its stop report (where its vCPUs were), which
// says which fault it was; SIGKILL 30 s later. Then it waits for the
// whole group to be gone, so that the stop report is complete.
func runUntilFault(limit time.Duration, setup func(*exec.Cmd), more func() string, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	if setup != nil {
		setup(cmd)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	out := &watchBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	err := waitWatched(cmd, func() bool {
		text := out.String()
		if more != nil {
			text += more()
		}
		return guestFault(text) != ""
	}, cancel)
	if err != nil {
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && syscall.Kill(-cmd.Process.Pid, 0) == nil; {
			time.Sleep(100 * time.Millisecond)
		}
	}
	return []byte(out.String()), err
}

// waitWatched waits for the started cmd and, while it runs, asks faulted
// once a second; when it says yes, it calls stop, which ends the command
// the way its limit would.
func waitWatched(cmd *exec.Cmd, faulted func() bool, stop func()) error {
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for {
		select {
		case err := <-done:
			return err
		case <-time.After(time.Second):
			if faulted() {
				stop()
			}
		}
	}
}

// readFile is the file's text, or "" when it cannot be read.
func readFile(name string) string {
	b, _ := os.ReadFile(name)
	return string(b)
}
