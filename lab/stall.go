package lab

import (
	"fmt"

	"github.com/vmmlab/vmm/lab/labproto"
)

// StallSummary says, for each test binary cmd/testwatch stopped, where
// its test was: the binary, the test and how long it was silent, each
// process with a thread in uninterruptible sleep (D) and those threads,
// and the frames of its goroutine dump that point into its test files.
func StallSummary(events []labproto.Event) []string {
	var out []string
	for _, e := range events {
		if e.Action != labproto.Stall {
			continue
		}
		out = append(out, fmt.Sprintf("%s: silent for %ds while %s ran; stopped, exit status %d", e.Package, e.Seconds, e.Test, e.Exit))
		out = append(out, e.Lines...)
	}
	return out
}
