// Command gen compiles vmm's seccomp rules (package confine/rules, with
// gVisor's compiler) and writes them as package confine's program:
// go generate ./confine.
package main

import (
	"fmt"
	"os"

	"github.com/vmmlab/vmm/confine/rules"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gen OUT.go")
		os.Exit(2)
	}
	src, err := rules.GoSource()
	if err == nil {
		err = os.WriteFile(os.Args[1], src, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}
