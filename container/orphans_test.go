package container

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// A zombie child whose comm is "exe" (as a runsc sandbox's, or a workload
// named so) that a Container waits for is not the reaper's to take: its
// exit status stays for that Container.
func TestReaperLeavesTheWorkloadsItWaitsFor(t *testing.T) {
	exe := filepath.Join(t.TempDir(), "exe")
	b, err := os.ReadFile("/bin/false")
	if err != nil {
		t.Skip("no /bin/false:", err)
	}
	if err := os.WriteFile(exe, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var w waited
	w.add(cmd.Process.Pid)
	time.Sleep(200 * time.Millisecond) // it has exited: a zombie now
	reapOrphans(runscHelper, w.has)
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("the workload's status after the reaper ran: %v, want exit status 1", err)
	}
	w.remove(cmd.Process.Pid)
	if w.has(cmd.Process.Pid) {
		t.Fatal("a removed pid is still waited for")
	}
}
