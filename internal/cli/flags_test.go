package cli

import (
	"bytes"
	"strings"
	"testing"

	flag "github.com/spf13/pflag"
)

func TestParseFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		ok   bool
		out  string
	}{
		{[]string{"--n", "3"}, 0, true, ""},
		{[]string{"--help"}, 0, false, "usage of prog"},
		{[]string{"--bogus"}, 2, false, "see prog --help"},
	} {
		fs := flag.NewFlagSet("prog", flag.ContinueOnError)
		fs.SetOutput(new(bytes.Buffer))
		fs.Int("n", 0, "a number")
		var errb bytes.Buffer
		code, ok := ParseFlags(fs, c.args, &errb)
		if code != c.code || ok != c.ok || !strings.Contains(errb.String(), c.out) {
			t.Errorf("%v: code %d ok %v stderr %q", c.args, code, ok, errb.String())
		}
	}
}
