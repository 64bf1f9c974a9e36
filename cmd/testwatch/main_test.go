package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmmlab/vmm/internal/syncbuf"
)

func testWatch(out *syncbuf.Buffer, stall time.Duration) watch {
	return watch{name: "fake.test", stall: stall, tick: 20 * time.Millisecond, out: out, procs: "/proc", quit: 2 * time.Second}
}

func TestStalledBinaryIsReportedAndStopped(t *testing.T) {
	var out syncbuf.Buffer
	w := testWatch(&out, 300*time.Millisecond)
	start := time.Now()
	code, err := w.run(context.Background(), []string{"sh", "-c", `echo "=== RUN   TestHangs"; exec sleep 60`})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("the stalled command ran %v: it was not stopped", d)
	}
	if code != 128+3 { // SIGQUIT
		t.Errorf("exit status %d, want %d (ended by SIGQUIT)", code, 128+3)
	}
	got := out.String()
	for _, want := range []string{"=== RUN   TestHangs\n", "LAB-STALL fake.test silent=", "running=TestHangs\n", "LAB-STALL pid ", "sleep 60", "LAB-STALL   tid ", "LAB-STALL-END fake.test exit=131\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}

func TestSteadyOutputIsNotAStall(t *testing.T) {
	var out syncbuf.Buffer
	w := testWatch(&out, 500*time.Millisecond)
	code, err := w.run(context.Background(), []string{"sh", "-c", `for i in 1 2 3 4 5 6 7 8; do echo line $i; sleep 0.15; done; exit 3`})
	if err != nil {
		t.Fatal(err)
	}
	if code != 3 {
		t.Errorf("exit status %d, want the command's 3", code)
	}
	if got := out.String(); strings.Contains(got, "LAB-STALL") || !strings.Contains(got, "line 8\n") {
		t.Errorf("output:\n%s", got)
	}
}

func TestCancelTerminatesTheBinary(t *testing.T) {
	var out syncbuf.Buffer
	w := testWatch(&out, time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	code, err := w.run(ctx, []string{"sleep", "60"})
	if err != nil {
		t.Fatal(err)
	}
	if code != 128+15 {
		t.Errorf("exit status %d, want %d (SIGTERM)", code, 128+15)
	}
}

func TestMissingBinary(t *testing.T) {
	var out syncbuf.Buffer
	code, err := testWatch(&out, time.Second).run(context.Background(), []string{"/nonexistent/test.bin"})
	if err == nil || code != 127 {
		t.Errorf("code %d, err %v; want 127 and an error", code, err)
	}
}

func TestThreadStateReadsPastTheCommand(t *testing.T) {
	dir := t.TempDir()
	if err := writeFile(dir+"/stat", "42 (a) b)) D 1 2 3"); err != nil {
		t.Fatal(err)
	}
	if s := threadState(dir); s != "D" {
		t.Errorf("state %q, want D", s)
	}
	if s := threadState(dir + "/none"); s != "?" {
		t.Errorf("state of a missing task %q, want ?", s)
	}
}

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o644) }

// With --events, a binary run with -test.v=test2json gives its events
// to test2json, one JSON object a line in the events file, and the
// console gets its plain -test.v output, frame marks taken out.
func TestEventsChannel(t *testing.T) {
	test2json := buildTest2json(t)
	events := filepath.Join(t.TempDir(), "events.jsonl")
	var out syncbuf.Buffer
	w := testWatch(&out, time.Minute)
	w.events, w.test2json = events, test2json
	script := `printf '\026=== RUN   TestA\nhello from A\n\026--- PASS: TestA (0.00s)\n\026=== RUN   TestB\n    b_test.go:3: broke\n\026--- FAIL: TestB (0.00s)\n\026FAIL\n'; exit 1`
	code, err := w.run(context.Background(), []string{"sh", "-c", script})
	if err != nil || code != 1 {
		t.Fatalf("exit %d, %v", code, err)
	}
	if got := out.String(); strings.ContainsRune(got, 0x16) || !strings.Contains(got, "=== RUN   TestA\nhello from A\n--- PASS: TestA") {
		t.Errorf("console:\n%q", got)
	}
	b, err := os.ReadFile(events)
	if err != nil {
		t.Fatal(err)
	}
	actions := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var e struct{ Action, Test, Package string }
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("event %q: %v", line, err)
		}
		if e.Package != "fake.test" {
			t.Errorf("event for package %q", e.Package)
		}
		if e.Action == "pass" || e.Action == "fail" {
			actions[e.Test] = e.Action
		}
	}
	if actions["TestA"] != "pass" || actions["TestB"] != "fail" {
		t.Errorf("events: %v\n%s", actions, b)
	}
}

// buildTest2json builds Go's test2json (the lab puts one in the outer
// guest the same way).
func buildTest2json(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build test2json: %v", err)
	}
	out := filepath.Join(t.TempDir(), "test2json")
	if b, err := exec.Command(goBin, "build", "-o", out, "cmd/test2json").CombinedOutput(); err != nil {
		t.Fatalf("go build cmd/test2json: %v\n%s", err, b)
	}
	return out
}
