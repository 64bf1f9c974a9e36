package lab

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/vmmlab/vmm/lab/labproto"
)

// Binary is what one test binary did inside the outer guest.
type Binary struct {
	Name    string
	Ran     bool // it ended (labproto.End), after it last began
	Exit    int
	Seconds float64 // outer-guest time it took
	Passed  []string
	Failed  []string
	Skipped []string
	Started bool // it began (labproto.Begin)
	// Why holds, for each failed test, the last thing it logged before
	// it failed (its t.Fatal or t.Error line, with the two lines after
	// it), so that the end of the lab's output says why.
	Why map[string]string

	began    float64             // the outer guest's uptime when it last began
	running  string              // the test (or subtest) a run event named last
	logged   map[string][]string // per test: its last log line and what followed
	whyOfSub map[string]bool     // Why of this test came from a subtest
}

// Report is the lab's verdict over one outer boot.
type Report struct {
	Binaries []*Binary
	KVMReady bool     // /dev/kvm appeared in the outer guest
	Done     bool     // the guest reached the end of its script
	Errors   []string // what the outer guest said went wrong (labproto.Error)
	TimedOut bool
	// OuterFailure is set when the outer kernel locked up or panicked.
	OuterFailure string
	// Filtered is set when only some tests were asked for (--run): a binary
	// with no matching test is then not a failure.
	Filtered bool
}

// reLog matches the first line of a test's log entry (t.Log, t.Fatal).
var reLog = regexp.MustCompile(`^\s+\S+\.go:\d+: `)

// whyLines is how many lines of a failed test's last log entry Why keeps.
const whyLines = 3

// Results reads the events of a run (every boot's, in order). expected
// names every test binary that was put into the guest; one that never
// reported fails.
func Results(events []labproto.Event, expected []string, timedOut bool) *Report {
	r := &Report{TimedOut: timedOut}
	byName := map[string]*Binary{}
	for _, n := range slices.Sorted(slices.Values(expected)) {
		b := &Binary{Name: n}
		byName[n] = b
		r.Binaries = append(r.Binaries, b)
	}
	for _, e := range events {
		switch e.Action {
		case labproto.Error:
			r.Errors = append(r.Errors, "the outer guest: "+e.Detail)
		case labproto.KVM:
			r.KVMReady = true
		case labproto.Done:
			r.Done = true
		}
		if b := byName[e.Package]; b != nil {
			b.event(e)
		}
	}
	return r
}

// event takes in one of the binary's events.
func (b *Binary) event(e labproto.Event) {
	switch e.Action {
	case labproto.Begin:
		b.Started, b.Ran, b.began, b.running = true, false, e.Uptime, ""
	case labproto.End:
		b.Ran, b.Exit, b.Seconds = true, e.Exit, e.Uptime-b.began
	}
	if e.Test == "" {
		return
	}
	switch e.Action {
	case "run":
		b.running = e.Test
	case "output":
		b.remember(e.Test, e.Output)
	case "pass", "fail", "skip":
		// A test run again in a later boot (lab/resume.go): its last
		// result is the one that counts.
		b.forget(e.Test)
		switch e.Action {
		case "pass":
			b.Passed = append(b.Passed, e.Test)
		case "fail":
			b.Failed = append(b.Failed, e.Test)
			b.failed(e.Test)
		case "skip":
			b.Skipped = append(b.Skipped, e.Test)
		}
	}
}

// failed sets Why for the test name's top-level test: the last log
// entry of its first failed subtest, or failing that its own. (go test
// reports a test's result before its subtests' results.)
func (b *Binary) failed(name string) {
	w := b.logged[name]
	if len(w) == 0 {
		return
	}
	top, _, sub := strings.Cut(name, "/")
	if _, ok := b.Why[top]; !ok || sub && !b.whyOfSub[top] {
		b.Why[top] = strings.Join(w, " | ")
		b.whyOfSub[top] = sub
	}
}

// remember keeps test's last log line and the lines after it, for Why.
func (b *Binary) remember(test, output string) {
	if b.logged == nil {
		b.logged, b.Why, b.whyOfSub = map[string][]string{}, map[string]string{}, map[string]bool{}
	}
	for _, line := range strings.Split(strings.TrimSuffix(output, "\n"), "\n") {
		trimmed := strings.TrimSpace(line)
		switch w := b.logged[test]; {
		case reLog.MatchString(line):
			b.logged[test] = []string{trimmed}
		case len(w) > 0 && len(w) < whyLines && trimmed != "" && !strings.HasPrefix(trimmed, "--- ") && !strings.HasPrefix(trimmed, "=== "):
			b.logged[test] = append(w, trimmed)
		}
	}
}

// forget drops an earlier result of the test name.
func (b *Binary) forget(name string) {
	not := func(t string) bool { return t == name }
	b.Passed = slices.DeleteFunc(b.Passed, not)
	b.Failed = slices.DeleteFunc(b.Failed, not)
	b.Skipped = slices.DeleteFunc(b.Skipped, not)
	delete(b.Why, name)
	delete(b.whyOfSub, name)
}

// Counts returns how many test functions passed and failed in all binaries.
// A skip inside the lab counts as a failure, and so does a binary that
// failed without naming a failed test (a crash, a timeout) or ran none.
func (r *Report) Counts() (passed, failed int) {
	for _, b := range r.Binaries {
		passed += len(b.Passed)
		failed += len(b.Failed) + len(b.Skipped)
		if len(b.Failed) == 0 && (!b.Ran || b.Exit != 0 || len(b.Passed) == 0 && !r.Filtered) {
			failed++
		}
	}
	return passed, failed
}

// Problems lists every reason the run is not a pass; none means it passed.
func (r *Report) Problems() []string {
	var p []string
	if r.OuterFailure != "" {
		p = append(p, r.OuterFailure)
	}
	if r.TimedOut {
		p = append(p, "the lab timed out or the outer guest hung (see the console log)")
	}
	if !r.KVMReady {
		p = append(p, "/dev/kvm never appeared in the outer guest")
	}
	if !r.Done {
		p = append(p, "the outer guest did not finish its script")
	}
	p = append(p, r.Errors...)
	if len(r.Binaries) == 0 {
		p = append(p, "no test binaries were run")
	}
	for _, b := range r.Binaries {
		switch {
		case !b.Started:
			p = append(p, b.Name+": never started")
		case !b.Ran && b.running != "":
			p = append(p, b.Name+": never finished (the last test it started: "+b.running+")")
		case !b.Ran:
			p = append(p, b.Name+": never finished")
		case b.Exit != 0:
			p = append(p, fmt.Sprintf("%s: exit status %d (failed: %s)", b.Name, b.Exit, strings.Join(b.Failed, ", ")))
		}
		if len(b.Skipped) > 0 {
			p = append(p, fmt.Sprintf("%s: skipped inside the lab: %s", b.Name, strings.Join(b.Skipped, ", ")))
		}
		if b.Ran && b.Exit == 0 && len(b.Passed) == 0 && !r.Filtered {
			p = append(p, b.Name+": ran no tests")
		}
	}
	return p
}
