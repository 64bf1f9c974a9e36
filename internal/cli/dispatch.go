package cli

import (
	"fmt"
	"io"
)

// Command is one subcommand of a program: its name, a line for the
// usage, and what runs it (given the arguments after its name; it
// returns the exit code).
type Command struct {
	Name    string
	Summary string
	Run     func(args []string, stdout, stderr io.Writer) int
}

// Commands is a program's subcommands, the one table its dispatch and
// its usage both read.
type Commands struct {
	Prog  string // as the user types it: "vmm", "vmm bench"
	Usage string // the usage's first lines (without the list)
	List  []Command
}

// Dispatch runs the command args[0] names. With no command: the usage
// on stderr, exit 2; with help, -h or --help: the usage on stdout, exit
// 0; an unknown command: one line saying so and the usage on stderr,
// exit 2.
func (c Commands) Dispatch(args []string, stdout, stderr io.Writer) int {
	switch {
	case len(args) == 0:
		c.WriteUsage(stderr)
		return 2
	case args[0] == "help" || args[0] == "-h" || args[0] == "--help":
		c.WriteUsage(stdout)
		return 0
	}
	for _, cmd := range c.List {
		if cmd.Name == args[0] {
			return cmd.Run(args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "%s: unknown command %q\n", c.Prog, args[0])
	c.WriteUsage(stderr)
	return 2
}

// WriteUsage writes the usage and, for each command with a summary, its
// line.
func (c Commands) WriteUsage(w io.Writer) {
	fmt.Fprintln(w, c.Usage)
	header := false
	for _, cmd := range c.List {
		if cmd.Summary == "" {
			continue
		}
		if !header {
			fmt.Fprintln(w, "\ncommands:")
			header = true
		}
		fmt.Fprintf(w, "  %-10s %s\n", cmd.Name, cmd.Summary)
	}
}
