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
		var errb bytes.Buffer
		fs := flag.NewFlagSet("prog", flag.ContinueOnError)
		fs.SetOutput(&errb) // as the commands do
		fs.Int("n", 0, "a number")
		code, ok := ParseFlags(fs, c.args, &errb)
		if code != c.code || ok != c.ok || !strings.Contains(errb.String(), c.out) || strings.Count(strings.ToLower(errb.String()), "usage of") > 1 {
			t.Errorf("%v: code %d ok %v stderr %q", c.args, code, ok, errb.String())
		}
	}
}
