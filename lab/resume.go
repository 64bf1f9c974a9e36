package lab

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
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
// LAB_RESUME_SKIP matches its tests that finished (passed, failed or
// skipped: none of them runs twice, so a failure is never run again
// until it passes). The test that was running when the guest went down
// runs again. It returns "" when no test binary had started.
func resumeArgs(lines []string) string {
	var done []string
	finished := map[string][]string{} // per binary, its tests that ended
	cur, last := "", ""               // the binary running; the last one that began
	for _, line := range lines {
		if strings.HasPrefix(line, "LAB-BOOTED") {
			cur = ""
		}
		if m := reBegin.FindStringSubmatch(line); m != nil {
			cur, last = m[1], m[1]
			continue
		}
		if m := reResult.FindStringSubmatch(line); m != nil {
			done = append(done, m[1])
			cur = ""
			continue
		}
		if m := reTest.FindStringSubmatch(line); m != nil && cur != "" {
			finished[cur] = append(finished[cur], m[2])
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
