package guestinit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runProcess on this host: no vsock listener answers here, so the
// process's output goes to the "console" (a file), as in a VM booted
// by hand. It runs as a child, as the init runs it.
func TestRunProcess(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("runProcess sets the process's user and groups: needs root")
	}
	dir := t.TempDir()
	env := []string{"PATH=/usr/bin:/bin", "GREETING=hello there"}
	for _, c := range []struct {
		name     string
		args     []string
		cwd      string
		status   int
		out      []string
		terminal bool
	}{
		{"status and environment", []string{"sh", "-c", `echo "$GREETING"; pwd; echo err >&2; exit 7`}, dir, 7, []string{"hello there\n", dir + "\n", "err\n"}, false},
		{"new working directory", []string{"sh", "-c", "pwd"}, filepath.Join(dir, "made", "here"), 0, []string{filepath.Join(dir, "made", "here")}, false},
		{"signal", []string{"sh", "-c", "kill -TERM $$"}, "/", 128 + 15, nil, false},
		{"a background child does not hold the status", []string{"sh", "-c", "sleep 0.1 & exit 3"}, "/", 3, nil, false},
		{"not found", []string{"no-such-program"}, "/", StatusNotFound, []string{"executable file not found"}, false},
		{"not executable", []string{"/etc/passwd"}, "/", StatusNotExecutable, []string{"/etc/passwd"}, false},
		{"a terminal", []string{"sh", "-c", "test -t 0 && test -t 1 && test -t 2 && echo on-a-tty; exit 4"}, "/", 4, []string{"on-a-tty"}, true},
		{"no terminal", []string{"sh", "-c", "test -t 1 || echo no-tty"}, "/", 0, []string{"no-tty"}, false},
	} {
		con, err := os.Create(filepath.Join(t.TempDir(), "console"))
		if err != nil {
			t.Fatal(err)
		}
		status := runProcess(con, &Process{Args: c.args, Cwd: c.cwd, Env: env, Terminal: c.terminal})
		con.Close()
		out, _ := os.ReadFile(con.Name())
		if status != c.status {
			t.Errorf("%s: status %d, want %d; output %q", c.name, status, c.status, out)
		}
		for _, want := range c.out {
			if !strings.Contains(string(out), want) {
				t.Errorf("%s: output %q lacks %q", c.name, out, want)
			}
		}
	}
}

func TestCredential(t *testing.T) {
	u := User{UID: 999, GID: 998, AdditionalGids: []uint32{4, 27}}
	c := credential(u)
	if c.Uid != 999 || c.Gid != 998 || len(c.Groups) != 2 || c.Groups[1] != 27 {
		t.Fatalf("credential %+v", c)
	}
	u.AdditionalGids[0] = 5
	if c.Groups[0] != 4 {
		t.Error("the credential shares the spec's slice")
	}
}
