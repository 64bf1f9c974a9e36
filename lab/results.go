package lab

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/vmmlab/vmm/lab/labproto"
)

// Binary is what one test binary did inside the outer guest.
type Binary struct {
	Name    string
	Ran     bool // a LAB-RESULT line was seen
	Exit    int
	Seconds float64 // outer-guest time it took
	Passed  []string
	Failed  []string
	Skipped []string
	Started bool // a LAB-BEGIN line was seen
	// Why holds, for each failed test, the last thing it logged before
	// it failed (its t.Fatal or t.Error line, with the two lines after
	// it), so that the end of the lab's output says why.
	Why map[string]string

	running  string              // the test (or subtest) a === line named last
	logged   map[string][]string // per test: its last log line and what followed
	whyOfSub map[string]bool     // Why of this test came from a subtest
}

// Report is the lab's verdict over one outer boot.
type Report struct {
	Binaries []*Binary
	KVMReady bool     // /dev/kvm appeared in the outer guest
	Done     bool     // the guest reached the end of its script
	Errors   []string // LAB-ERROR lines
	TimedOut bool
	// OuterFailure is set when the outer kernel locked up or panicked.
	OuterFailure string
	// Filtered is set when only some tests were asked for (--run): a binary
	// with no matching test is then not a failure.
	Filtered bool
}

var (
	reBegin   = regexp.MustCompile(labproto.Begin + ` (\S+)`)
	reResult  = regexp.MustCompile(labproto.Result + ` (\S+) exit=(\d+) start=([\d.]+) end=([\d.]+)`)
	reTest    = regexp.MustCompile(`^--- (PASS|FAIL|SKIP): (\S+)`)
	reRun     = regexp.MustCompile(`^=== (?:RUN|NAME|CONT)\s+(\S+)`)
	reLog     = regexp.MustCompile(`^\s+\S+\.go:\d+: `)
	reSubFail = regexp.MustCompile(`^\s+--- FAIL: (\S+)`)
)

// whyLines is how many lines of a failed test's last log entry Why keeps.
const whyLines = 3

// Parse reads the outer guest's console lines. expected names every test
// binary that was put into the guest; one that never reported fails.
func Parse(lines []string, expected []string, timedOut bool) *Report {
	r := &Report{TimedOut: timedOut}
	byName := map[string]*Binary{}
	names := append([]string(nil), expected...)
	sort.Strings(names)
	for _, n := range names {
		b := &Binary{Name: n}
		byName[n] = b
		r.Binaries = append(r.Binaries, b)
	}
	var cur *Binary
	for _, line := range lines {
		switch {
		case strings.Contains(line, labproto.Error):
			r.Errors = append(r.Errors, strings.TrimSpace(line[strings.Index(line, labproto.Error):]))
		case strings.HasPrefix(line, labproto.KVMReady+" ready"):
			r.KVMReady = true
		case strings.HasPrefix(line, labproto.Done):
			r.Done = true
		case strings.HasPrefix(line, labproto.Booted):
			cur = nil // a later boot (lab/resume.go): nothing runs yet
		}
		if m := reBegin.FindStringSubmatch(line); m != nil {
			cur = byName[m[1]]
			if cur != nil {
				cur.Started = true
			}
			continue
		}
		if m := reResult.FindStringSubmatch(line); m != nil {
			if b := byName[m[1]]; b != nil {
				b.Ran = true
				b.Exit, _ = strconv.Atoi(m[2])
				s, _ := strconv.ParseFloat(m[3], 64)
				e, _ := strconv.ParseFloat(m[4], 64)
				b.Seconds = e - s
			}
			cur = nil
			continue
		}
		if cur == nil {
			continue
		}
		if m := reTest.FindStringSubmatch(line); m != nil {
			// A test run again in a later boot (lab/resume.go): its
			// last result is the one that counts.
			cur.forget(m[2])
			switch m[1] {
			case "PASS":
				cur.Passed = append(cur.Passed, m[2])
			case "FAIL":
				cur.Failed = append(cur.Failed, m[2])
				cur.failed(m[2])
			case "SKIP":
				cur.Skipped = append(cur.Skipped, m[2])
			}
			continue
		}
		cur.remember(line)
	}
	return r
}

// failed sets Why for the test name's top-level test: the last log
// entry of its first failed subtest, or failing that its own. (go test
// -v prints a test's result before its subtests' results.)
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

// remember keeps each test's last log line and the lines after it, for
// Why.
func (b *Binary) remember(line string) {
	if b.logged == nil {
		b.logged, b.Why, b.whyOfSub = map[string][]string{}, map[string]string{}, map[string]bool{}
	}
	if m := reRun.FindStringSubmatch(line); m != nil {
		b.running = m[1]
		return
	}
	if m := reSubFail.FindStringSubmatch(line); m != nil {
		b.failed(m[1])
		return
	}
	if b.running == "" {
		return
	}
	switch w := b.logged[b.running]; {
	case reLog.MatchString(line):
		b.logged[b.running] = []string{strings.TrimSpace(line)}
	case len(w) > 0 && len(w) < whyLines && strings.TrimSpace(line) != "" && !strings.Contains(line, "--- "):
		b.logged[b.running] = append(w, strings.TrimSpace(line))
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
