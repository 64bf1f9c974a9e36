package lab

import (
	"regexp"
	"slices"
	"strings"

	"github.com/vmmlab/vmm/lab/labproto"
)

// reTestFrame matches a goroutine dump's line that points into a test
// file (the frame a hung test waits in).
var reTestFrame = regexp.MustCompile(`\S+_test\.go:\d+`)

// maxStallSummary bounds the lines StallSummary returns.
const maxStallSummary = 40

// StallSummary picks out of the console lines what says where a hung
// test was when cmd/testwatch stopped it, short enough for the end of
// the lab's output: each LAB-STALL header, every process with a thread
// in uninterruptible sleep (D) and those threads, and the lines of the
// test binary's goroutine dump that point into its test files.
func StallSummary(lines []string) []string {
	var out []string
	add := func(s string) {
		if len(out) < maxStallSummary && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	in := false // between a LAB-STALL header and its LAB-STALL-END
	proc := ""  // the last process line of the report
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, stallEndPrefix):
			in = false
			add(l)
		case strings.HasPrefix(l, labproto.Stall+" pid "):
			proc = l
		case strings.HasPrefix(l, labproto.Stall+"   tid ") && strings.Contains(l, " D wchan="):
			add(proc)
			add(l)
		case strings.HasPrefix(l, stallPrefix) && strings.Contains(l, " silent="):
			in = true
			add(l)
		case in:
			if m := reTestFrame.FindString(l); m != "" {
				add("in the test binary's goroutines: " + m)
			}
		}
	}
	return out
}
