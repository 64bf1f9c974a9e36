package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// runWatched ends a command whose output shows a known lab fault, the way
// its limit would (here a limit far beyond the test's), and leaves one
// that shows none alone.
func TestRunWatched(t *testing.T) {
	log := filepath.Join(t.TempDir(), "out")
	cases := []struct {
		name, shell string
		stopped     bool
	}{
		{"fault, then a hang", "echo 'XSAVE consistency problem' >" + log + "; sleep 600", true},
		{"no fault", "echo booted >" + log + "; sleep 2", false},
	}
	for _, c := range cases {
		os.Remove(log)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		cmd := exec.CommandContext(ctx, "sh", "-c", c.shell)
		var stops atomic.Int32
		err := runWatched(cmd, func() bool { return guestFault(readFile(log)) != "" }, func() { stops.Add(1); cancel() })
		cancel()
		if stopped := stops.Load() > 0; stopped != c.stopped {
			t.Errorf("%s: stopped %v, want %v (err %v)", c.name, stopped, c.stopped, err)
		}
		if (err != nil) != c.stopped {
			t.Errorf("%s: err %v", c.name, err)
		}
		if c.stopped && !strings.Contains(readFile(log), "XSAVE") {
			t.Errorf("%s: the output is gone: %q", c.name, readFile(log))
		}
	}
}
