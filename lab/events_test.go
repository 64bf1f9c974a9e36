package lab

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vmmlab/vmm/lab/labproto"
)

// events makes events from short lines, one an event:
//
//	ACTION [PACKAGE [TEST]] [exit=N] [seconds=N] [uptime=S] [| OUTPUT or DETAIL]
//
// ACTION is one of labproto's without its "lab-" or one of test2json's.
func events(t *testing.T, spec string) []labproto.Event {
	t.Helper()
	var out []labproto.Event
	for _, line := range strings.Split(strings.TrimSpace(spec), "\n") {
		line, text, hasText := strings.Cut(strings.TrimSpace(line), " | ")
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		e := labproto.Event{Action: f[0]}
		if slices.Contains(labproto.Actions(), "lab-"+f[0]) {
			e.Action = "lab-" + f[0]
		}
		var pos []string
		for _, w := range f[1:] {
			k, v, ok := strings.Cut(w, "=")
			switch {
			case !ok:
				pos = append(pos, w)
			case k == "exit":
				e.Exit = atoi(t, v)
			case k == "seconds":
				e.Seconds = atoi(t, v)
			case k == "uptime":
				s, err := strconv.ParseFloat(v, 64)
				if err != nil {
					t.Fatal(err)
				}
				e.Uptime = s
			default:
				t.Fatalf("event %q: unknown %s", line, k)
			}
		}
		if len(pos) > 0 {
			e.Package = pos[0]
		}
		if len(pos) > 1 {
			e.Test = pos[1]
		}
		switch {
		case hasText && e.Action == "output":
			e.Output = text + "\n"
		case hasText:
			e.Detail = text
		}
		out = append(out, e)
	}
	return out
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// eventScript is shell that appends the events of spec to the file
// $EV, as the outer guest's second serial port would.
func eventScript(t *testing.T, spec string) string {
	t.Helper()
	var b strings.Builder
	for _, e := range events(t, spec) {
		js, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString("printf '%s\\n' '" + strings.ReplaceAll(string(js), "'", `'\''`) + "' >>\"$EV\"\n")
	}
	return b.String()
}

// findEvents is the shell a fake QEMU begins with: $EV is the file its
// second serial port writes (-serial file:PATH).
const findEvents = `for a; do case "$a" in file:*) EV=${a#file:} ;; esac; done
`
