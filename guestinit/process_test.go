package guestinit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseProcess(t *testing.T) {
	p, err := ParseProcess(strings.NewReader(`{"args":["redis-server","--port","6379"],"cwd":"/data","env":["PATH=/bin","EMPTY="],"user":{"uid":999,"gid":999}}`))
	if err != nil || p.Args[0] != "redis-server" || p.Cwd != "/data" || p.User.UID != 999 || len(p.Env) != 2 {
		t.Fatalf("process %+v, %v", p, err)
	}
	for name, bad := range map[string]string{
		"not JSON":     `args: [sh]`,
		"no program":   `{"args":[],"cwd":"/"}`,
		"empty arg0":   `{"args":[""],"cwd":"/"}`,
		"relative cwd": `{"args":["sh"],"cwd":"data"}`,
		"no cwd":       `{"args":["sh"]}`,
		"bad env":      `{"args":["sh"],"cwd":"/","env":["JUSTKEY"]}`,
		"empty key":    `{"args":["sh"],"cwd":"/","env":["=x"]}`,
		"too long":     `{"args":["sh"],"cwd":"/","env":["A=` + strings.Repeat("x", maxProcessFile) + `"]}`,
	} {
		if _, err := readProcessFrom(t, bad); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// readProcessFrom writes s to a file and reads it as the init does.
func readProcessFrom(t *testing.T, s string) (any, error) {
	p := filepath.Join(t.TempDir(), "process.json")
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return readProcess(p)
}

func TestReadProcessAbsent(t *testing.T) {
	p, err := readProcess(filepath.Join(t.TempDir(), "none.json"))
	if p != nil || err != nil {
		t.Fatalf("absent file: %+v, %v", p, err)
	}
}

func TestLookPath(t *testing.T) {
	dir := t.TempDir()
	for name, mode := range map[string]os.FileMode{"prog": 0o755, "data": 0o644} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	env := []string{"HOME=/", "PATH=/nonexistent:" + dir}
	if got, err := lookPath("prog", env); err != nil || got != filepath.Join(dir, "prog") {
		t.Errorf("prog: %q, %v", got, err)
	}
	for _, c := range []struct {
		prog   string
		status int
	}{{"missing", StatusNotFound}, {"data", StatusNotFound}, {"sub", StatusNotFound},
		{filepath.Join(dir, "data"), StatusNotExecutable}, {filepath.Join(dir, "sub"), StatusNotExecutable},
		{filepath.Join(dir, "none"), StatusNotFound}} {
		_, err := lookPath(c.prog, env)
		if err == nil || startStatus(err) != c.status {
			t.Errorf("%s: %v, status %d, want %d", c.prog, err, startStatus(err), c.status)
		}
	}
	if _, err := lookPath("prog", []string{"HOME=/"}); err == nil {
		t.Error("found without a PATH")
	}
}

// FuzzParseProcess: no process file panics the init, and one it
// accepts has a program and an absolute working directory.
func FuzzParseProcess(f *testing.F) {
	f.Add(`{"args":["sh","-c","exit 7"],"cwd":"/","env":["PATH=/bin"],"user":{"uid":1,"gid":2,"additionalGids":[3]}}`)
	f.Add(`{"args":["x"],"cwd":"/a","terminal":true,"env":["A=B=C"]}`)
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseProcess(strings.NewReader(s))
		if err != nil {
			return
		}
		if len(p.Args) == 0 || p.Args[0] == "" || !strings.HasPrefix(p.Cwd, "/") {
			t.Fatalf("accepted %+v", p)
		}
	})
}
