// Command vmm is the virtual machine monitor's command line: it parses
// flags and wires packages together; the work happens in those packages.
package main

import (
	"fmt"
	"io"
	"os"
)

type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"kvm-info", "show what this host's KVM offers (API version, capabilities, CPUID, MSRs)", runKVMInfo},
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: vmm COMMAND [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
}

func main() {
	os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
}

func dispatch(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "vmm: unknown command %q\n", args[0])
	usage(stderr)
	return 2
}
