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
// outer boot go on from where the boots in lines stopped. The kernel
// hands such name=value words to /init as its environment:
// LAB_DONE_BINARIES lists the test binaries that finished, which the
// outer init skips; LAB_RESUME_BINARY is the one that was running, and
// LAB_RESUME_SKIP matches its tests that passed or were skipped. The test
// that was running when the guest went down runs again, and so does a
// test of that binary that failed: a guest that went down had been
// stalled before (a soft lockup stops the emulated host for a minute or
// more), which fails tests that were never at fault; a real failure
// fails again, and its last result is the one counted (Parse). Results
// of binaries that finished stand, except one that cmd/testwatch stopped
// because a test hung (LAB-STALL-END): it goes on like the binary of a
// boot that went down. It returns "" when no test binary had started.
func resumeArgs(lines []string) string {
	var done []string
	finished := map[string][]string{} // per binary, its tests that ended
	cur, last := "", ""               // the binary running; the last one that began
	stalled := ""                     // the binary testwatch stopped in this boot
	for _, line := range lines {
		if strings.HasPrefix(line, labproto.Booted) {
			cur, stalled = "", ""
		}
		if strings.HasPrefix(line, stallEndPrefix) {
			stalled = cur
		}
		if m := reBegin.FindStringSubmatch(line); m != nil {
			cur, last = m[1], m[1]
			continue
		}
		if m := reResult.FindStringSubmatch(line); m != nil {
			if m[1] != stalled {
				done = append(done, m[1])
			}
			cur = ""
			continue
		}
		if m := reTest.FindStringSubmatch(line); m != nil && cur != "" {
			if m[1] == "FAIL" {
				finished[cur] = slices.DeleteFunc(finished[cur], func(t string) bool { return t == m[2] })
			} else if !slices.Contains(finished[cur], m[2]) {
				finished[cur] = append(finished[cur], m[2])
			}
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

// resumeCmdline appends resumeArgs(lines) to base, or fails when the
// result does not fit the kernel's command line.
func resumeCmdline(base string, lines []string) (string, error) {
	args := resumeArgs(lines)
	if args == "" {
		return base, nil
	}
	s := base + " " + args
	if len(s) > maxCmdline {
		return "", fmt.Errorf("the tests that finished do not fit the outer kernel's command line (%d bytes, at most %d)", len(s), maxCmdline)
	}
	return s, nil
}

// testsEnded counts the tests and test binaries in lines that ended,
// subtests included. Go prints a subtest's "--- PASS" line only when its
// parent ends, so a long test with many subtests (TestDocsCommands) that
// goes down half-way shows none; but the lab's tests run their subtests
// one after another, so a "=== RUN" of a test that is not inside the one
// running before it means that one ended.
func testsEnded(lines []string) int {
	n := 0
	running := "" // the test of the last "=== RUN" line, in this binary
	for _, line := range lines {
		if reTest.MatchString(line) {
			n++
		}
		if m := reRun.FindStringSubmatch(line); m != nil {
			if running != "" && m[1] != running && !strings.HasPrefix(m[1], running+"/") {
				n++
			}
			running = m[1]
		}
		if reResult.MatchString(line) {
			n++
			running = ""
		}
		if reBegin.MatchString(line) {
			running = ""
		}
	}
	return n
}
