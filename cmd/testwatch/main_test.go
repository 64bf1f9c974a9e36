package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vmmlab/vmm/internal/syncbuf"
	"github.com/vmmlab/vmm/lab/labproto"
)

func testWatch(out *syncbuf.Buffer, stall time.Duration) watch {
	return watch{name: "fake.test", stall: stall, tick: 20 * time.Millisecond, out: out, procs: "/proc", quit: 2 * time.Second}
}

// A binary whose output stops is reported and stopped, and the events
// channel gets a stall event: the binary, the test that ran, its exit
// status, the processes with a thread in uninterruptible sleep and the
// test-file frames of its goroutine dump.
func TestStalledBinaryIsReportedAndStopped(t *testing.T) {
	var out syncbuf.Buffer
	w := testWatch(&out, 300*time.Millisecond)
	w.procs = fakeProcs(t)
	w.events, w.test2json = filepath.Join(t.TempDir(), "events.jsonl"), buildTest2json(t)
	start := time.Now()
	script := `trap 'printf "goroutine 7 [chan receive]:\n\t/w/e2e/boot_lab_test.go:88 +0x1d\n"; exit 2' QUIT
echo "=== RUN   TestHangs"
while :; do sleep 0.05; done`
	code, err := w.run(context.Background(), []string{"sh", "-c", script})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("the stalled command ran %v: it was not stopped", d)
	}
	if code != 2 {
		t.Errorf("exit status %d, want the 2 of its SIGQUIT handler", code)
	}
	got := out.String()
	for _, want := range []string{"=== RUN   TestHangs\n", "testwatch: fake.test silent for ", "while TestHangs ran", "testwatch: pid 300: /lab/vmm boot", "testwatch:   tid 305 D wchan=kvm_vcpu_block", "testwatch: fake.test stopped, exit status 2"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	var stalls []labproto.Event
	for _, e := range readEvents(t, w.events) {
		if e.Action == labproto.Stall {
			stalls = append(stalls, e)
		}
	}
	if len(stalls) != 1 {
		t.Fatalf("stall events %+v, want one", stalls)
	}
	e := stalls[0]
	want := []string{"pid 300: /lab/vmm boot", "  tid 305 D wchan=kvm_vcpu_block", "in the test binary's goroutines: /w/e2e/boot_lab_test.go:88"}
	if e.Action != labproto.Stall || e.Package != "fake.test" || e.Test != "TestHangs" || e.Exit != 2 || e.Seconds < 0 || !slices.Equal(e.Lines, want) {
		t.Errorf("stall event %+v, want lines %q", e, want)
	}
}

// fakeProcs makes a /proc with one process, whose second thread is in
// uninterruptible sleep.
func fakeProcs(t *testing.T) string {
	dir := t.TempDir()
	for path, data := range map[string]string{
		"300/cmdline":        "/lab/vmm\x00boot\x00",
		"300/task/300/stat":  "300 (vmm) S 1 300",
		"300/task/300/wchan": "futex_wait_queue",
		"300/task/305/stat":  "305 (vmm (vcpu) 0) D 1 300",
		"300/task/305/wchan": "kvm_vcpu_block",
		"300/task/305/stack": "[<0>] kvm_vcpu_block+0x4f/0x90 [kvm]",
	} {
		p := filepath.Join(dir, path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := writeFile(p, data); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func readEvents(t *testing.T, path string) []labproto.Event {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	evs, err := labproto.Read(f)
	if err != nil {
		t.Fatal(err)
	}
	return evs
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
	if got := out.String(); strings.Contains(got, "testwatch:") || !strings.Contains(got, "line 8\n") {
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
