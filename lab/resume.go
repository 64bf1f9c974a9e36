package lab

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/vmmlab/vmm/lab/labproto"
)

// maxCmdline is what an x86 kernel keeps of its command line
// (COMMAND_LINE_SIZE); resume words that do not fit are an error, never
// cut short.
const maxCmdline = 2047

// resumeArgs returns the kernel command-line words that make the next
// outer boot go on from where the boots whose events these are stopped.
// The kernel hands such name=value words to /init as its environment:
// LAB_DONE_BINARIES lists the test binaries that finished, which the
// outer init skips; LAB_RESUME_BINARY is the one that was running, and
// LAB_RESUME_SKIP matches its tests that passed or were skipped. The test
// that was running when the guest went down runs again, and so does a
// test of that binary that failed: a guest that went down had been
// stalled before (a soft lockup stops the emulated host for a minute or
// more), which fails tests that were never at fault; a real failure
// fails again, and its last result is the one counted (Results). Results
// of binaries that finished stand, except one that cmd/testwatch stopped
// because a test hung (labproto.Stall): it goes on like the binary of a
// boot that went down. It returns "" when no test binary had started.
func resumeArgs(events []labproto.Event) string {
	var done []string
	finished := map[string][]string{} // per binary, its tests that ended
	last := ""                        // the last binary that began
	stalled := ""                     // the binary testwatch stopped in this boot
	for _, e := range events {
		switch {
		case e.Action == labproto.Booted:
			stalled = ""
		case e.Action == labproto.Stall:
			stalled = e.Package
		case e.Action == labproto.Begin:
			last = e.Package
		case e.Action == labproto.End && e.Package != stalled && !slices.Contains(done, e.Package):
			done = append(done, e.Package)
		case e.Test == "" || strings.Contains(e.Test, "/"):
			// a subtest runs again with its test, which -test.skip names
		case e.Action == "fail":
			finished[e.Package] = slices.DeleteFunc(finished[e.Package], func(t string) bool { return t == e.Test })
		case (e.Action == "pass" || e.Action == "skip") && !slices.Contains(finished[e.Package], e.Test):
			finished[e.Package] = append(finished[e.Package], e.Test)
		}
	}
	var words []string
	if len(done) > 0 {
		sort.Strings(done)
		words = append(words, "LAB_DONE_BINARIES="+strings.Join(done, ","))
	}
	if last != "" && !slices.Contains(done, last) {
		words = append(words, "LAB_RESUME_BINARY="+last)
		if tests := finished[last]; len(tests) > 0 {
			quoted := make([]string, len(tests))
			for i, t := range tests {
				quoted[i] = regexp.QuoteMeta(t)
			}
			words = append(words, "LAB_RESUME_SKIP=^("+strings.Join(quoted, "|")+")$")
		}
	}
	return strings.Join(words, " ")
}

// resumeCmdline appends resumeArgs(events) to base, or fails when the
// result does not fit the kernel's command line.
func resumeCmdline(base string, events []labproto.Event) (string, error) {
	args := resumeArgs(events)
	if args == "" {
		return base, nil
	}
	s := base + " " + args
	if len(s) > maxCmdline {
		return "", fmt.Errorf("the tests that finished do not fit the outer kernel's command line (%d bytes, at most %d)", len(s), maxCmdline)
	}
	return s, nil
}

// testsEnded counts the tests and test binaries whose end the events
// tell, subtests included. Go reports a subtest's result only when its
// parent ends, so a long test with many subtests (TestDocsCommands) that
// goes down half-way has none; but the lab's tests run their subtests
// one after another, so a run event of a test that is not inside the one
// running before it means that one ended.
func testsEnded(events []labproto.Event) int {
	n := 0
	running := map[string]string{} // per binary, the test of its last run event
	for _, e := range events {
		switch {
		case e.Action == labproto.Begin:
			running[e.Package] = ""
		case e.Action == labproto.End:
			n++
			running[e.Package] = ""
		case e.Test == "":
		case e.Action == "pass" || e.Action == "fail" || e.Action == "skip":
			n++
		case e.Action == "run":
			if r := running[e.Package]; r != "" && e.Test != r && !strings.HasPrefix(e.Test, r+"/") {
				n++
			}
			running[e.Package] = e.Test
		}
	}
	return n
}
