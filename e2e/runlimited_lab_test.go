package e2e

import (
	"context"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// runLimited runs name with args (setup, when not nil, sets its
// environment) and returns its output, stdout and stderr together. At
// limit it ends the command's process group with SIGTERM, so that a vmm
// still running prints its stop report (where its vCPUs were, which says
// whether the guest hit one of the nested lab's known faults), and with
// SIGKILL 30 s later; then it waits for the whole group to be gone, so
// that the stop report is complete.
func runLimited(limit time.Duration, setup func(*exec.Cmd), name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	if setup != nil {
		setup(cmd)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil && cmd.Process != nil {
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && syscall.Kill(-cmd.Process.Pid, 0) == nil; {
			time.Sleep(100 * time.Millisecond)
		}
	}
	return out, err
}

// readFile is the file's text, or "" when it cannot be read.
func readFile(name string) string {
	b, _ := os.ReadFile(name)
	return string(b)
}
