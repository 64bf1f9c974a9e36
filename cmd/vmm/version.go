package main

import (
	"fmt"
	"io"
	"runtime/debug"
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
	fmt.Fprintf(stdout, "vmm %s\n", revision())
	return 0
}
