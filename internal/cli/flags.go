// Package cli holds what vmm's command-line programs share: flag parsing
// with the project's exit codes (0 for --help, 2 for bad flags).
package cli

import (
	"errors"
	"fmt"
	"io"

	flag "github.com/spf13/pflag"
)

// ParseFlags parses args into fs. On failure it prints the error (or, for
// --help, the usage) and returns the exit code to use; ok is false then.
func ParseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) (code int, ok bool) {
	fs.Usage = func() {} // pflag would print it on --help too; it is printed below, once
	err := fs.Parse(args)
	switch {
	case err == nil:
		return 0, true
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprintf(stderr, "usage of %s:\n", fs.Name())
		fs.PrintDefaults()
		return 0, false
	}
	fmt.Fprintf(stderr, "%s: %v (see %s --help)\n", fs.Name(), err, fs.Name())
	return 2, false
}
