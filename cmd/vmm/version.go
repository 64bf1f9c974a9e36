package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
)

// revision is the vcs revision vmm was built from ("+dirty" when the tree
// had changes), or "unknown".
func revision() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	rev, dirty := "unknown", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
			if len(rev) > 12 {
				rev = rev[:12]
			}
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if dirty {
		rev += "+dirty"
	}
	return rev
}

func runVersion(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintln(stderr, "usage: vmm version")
		return 2
	}
	fmt.Fprintf(stdout, "vmm %s (Go heap on transparent huge pages: %s)\n", revision(), heapTHP())
	return 0
}

// heapTHPOff is set to "1" by the build that also makes disablethp=1 the
// runtime's GODEBUG default (make build and the lab link both:
// -X=runtime.godebugDefault=disablethp=1 -X=main.heapTHPOff=1). With the
// host's THP set to "always", a heap on huge pages grew vmm's own memory
// by megabytes.
var heapTHPOff string

// heapTHP says whether the Go runtime keeps its heap off transparent huge
// pages: "off" for such a build or with disablethp=1 in GODEBUG, else
// "host policy".
func heapTHP() string {
	if heapTHPOff == "1" || strings.Contains(os.Getenv("GODEBUG"), "disablethp=1") {
		return "off"
	}
	return "host policy"
}
