package e2e

import (
	"strings"
	"testing"
	"time"
)

// runLimited ends a command at its limit with SIGTERM to its whole
// process group (so a vmm can still print its stop report), and leaves a
// command that ends in time alone.
func TestRunLimited(t *testing.T) {
	out, err := runLimited(time.Second, nil, "sh", "-c", `trap 'echo stopped by SIGTERM; exit 3' TERM; sleep 600 & wait`)
	if err == nil || !strings.Contains(string(out), "stopped by SIGTERM") {
		t.Errorf("a command past its limit: err %v, output %q; want it ended by SIGTERM", err, out)
	}
	out, err = runLimited(time.Minute, nil, "sh", "-c", "echo done")
	if err != nil || strings.TrimSpace(string(out)) != "done" {
		t.Errorf("a command within its limit: err %v, output %q", err, out)
	}
}
