package cli

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

func TestDispatch(t *testing.T) {
	var got []string
	c := Commands{Prog: "vmm", Usage: "usage: vmm COMMAND [flags]", List: []Command{
		{"boot", "boot a kernel", func(args []string, _, _ io.Writer) int { got = args; return 7 }},
		{"hidden", "", func([]string, io.Writer, io.Writer) int { return 0 }},
	}}
	for _, tc := range []struct {
		args         []string
		code         int
		stdout, errs string
	}{
		{[]string{"boot", "--mem", "1G"}, 7, "", ""},
		{nil, 2, "", "usage: vmm COMMAND [flags]\n\ncommands:\n  boot       boot a kernel\n"},
		{[]string{"--help"}, 0, "usage: vmm COMMAND [flags]\n\ncommands:\n  boot       boot a kernel\n", ""},
		{[]string{"nosuch"}, 2, "", "vmm: unknown command \"nosuch\"\nusage: vmm COMMAND"},
	} {
		var out, errb bytes.Buffer
		code := c.Dispatch(tc.args, &out, &errb)
		if code != tc.code || out.String() != tc.stdout || !strings.HasPrefix(errb.String(), tc.errs) || (tc.errs == "" && errb.Len() > 0) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", tc.args, code, out.String(), errb.String())
		}
	}
	if strings.Join(got, " ") != "--mem 1G" {
		t.Errorf("boot got %q", got)
	}
	var out bytes.Buffer
	c.WriteUsage(&out)
	if strings.Contains(out.String(), "hidden") {
		t.Error("a command without a summary is listed")
	}
}
