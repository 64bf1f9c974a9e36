package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestContainerRunBadInput(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{}, 2, "usage"},
		{[]string{"run"}, 2, "no command"},
		{[]string{"run", "--mem", "12Q", "--", "/bin/true"}, 2, `unknown unit "Q"`},
		{[]string{"run", "--", filepath.Join(dir, "nope")}, 2, "no such file"},
		{[]string{"run", "--", "true"}, 2, "static program"},
		{[]string{"run", "--runtime", "lxc", "--", "/bin/true"}, 1, "want one of crun, runc, runsc"},
		{[]string{"run", "--", "/bin/ls"}, 1, "statically"},
	}
	for _, c := range cases {
		var out, errb bytes.Buffer
		code := dispatch(append([]string{"container"}, c.args...), &out, &errb)
		if code != c.code || !strings.Contains(errb.String(), c.want) {
			t.Errorf("vmm container %q: exit %d, stderr %q; want exit %d and %q", c.args, code, errb.String(), c.code, c.want)
		}
	}
}

// vmm container run with each runtime: the workload's output and exit
// status pass through, and --json reports the runtime and the marker.
func TestContainerRun(t *testing.T) {
	tw := filepath.Join(t.TempDir(), "testworkload")
	build := exec.Command("go", "build", "-o", tw, "github.com/vmmlab/vmm/cmd/testworkload")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, rt := range []string{"crun", "runc"} {
		var out, errb bytes.Buffer
		code := dispatch([]string{"container", "run", "--runtime", rt, "--json", "--marker", "WORKLOAD-HELLO", "--", tw, "5"}, &out, &errb)
		if code != 5 || !strings.Contains(out.String(), `WORKLOAD-HELLO args=["5"]`) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", rt, code, out.String(), errb.String())
			continue
		}
		var res map[string]any
		lines := strings.Split(strings.TrimSpace(errb.String()), "\n")
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
			t.Fatalf("%s: %v: %q", rt, err, errb.String())
		}
		if res["runtime"] != rt || res["marker_ms"].(float64) <= 0 || res["exit_code"].(float64) != 5 {
			t.Errorf("%s: result %v", rt, res)
		}
	}
}

func TestDoctor(t *testing.T) {
	var out, errb bytes.Buffer
	if code := dispatch([]string{"doctor", "--kvm-device", filepath.Join(t.TempDir(), "kvm")}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	s := out.String()
	for _, want := range []string{"-- kvm ", "no such file", "tun/tap", "cgroups", "ok crun", "ok runc", "runsc", "user namespaces", "overlayfs"} {
		if !strings.Contains(s, want) {
			t.Errorf("doctor output lacks %q:\n%s", want, s)
		}
	}
}

// runsc with --net is refused in one line before anything starts.
func TestContainerRunscNetRefused(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := dispatch([]string{"container", "run", "--runtime", "runsc", "--net", "--", "true"}, &stdout, &stderr)
	if code == 0 || !strings.Contains(stderr.String(), "--net with runsc is not supported yet") {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
}
