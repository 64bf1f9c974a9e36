package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runUntilFault ends a command, its child processes too, as soon as its
// output (or the copy it is given) shows a known lab fault, long before
// its limit; a command that shows none runs to its end.
func TestRunUntilFault(t *testing.T) {
	log := filepath.Join(t.TempDir(), "copy")
	cases := []struct {
		name, shell, want string
		stopped           bool
	}{
		{"fault on stdout, then a hang", "echo 'XSAVE consistency problem'; sleep 600", "XSAVE", true},
		{"fault in the copy, then a hang", "echo 'XSAVE consistency problem' >" + log + "; echo booting; sleep 600", "booting", true},
		{"no fault", "echo booted; sleep 2", "booted", false},
	}
	for _, c := range cases {
		os.Remove(log)
		out, err := runUntilFault(10*time.Minute, nil, func() string { return readFile(log) }, "sh", "-c", c.shell)
		if (err != nil) != c.stopped {
			t.Errorf("%s: err %v, want it stopped: %v", c.name, err, c.stopped)
		}
		if !strings.Contains(string(out), c.want) {
			t.Errorf("%s: output %q lacks %q", c.name, out, c.want)
		}
	}
}
