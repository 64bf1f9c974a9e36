package lab

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// The lab's second channel: the outer guest's second serial port
// (ttyS1, a file on the host per boot) carries each test binary's
// `go test -json` events, written by Go's test2json (cmd/testwatch
// --events), apart from the console. Both channels run side by side
// until the events have agreed with the console's markers in CI; Agree
// says where they do not.

// Event is one test2json event.
type Event struct {
	Time    string  `json:"Time"`
	Action  string  `json:"Action"`
	Package string  `json:"Package"` // the test binary's name
	Test    string  `json:"Test"`
	Elapsed float64 `json:"Elapsed"`
	Output  string  `json:"Output"`
}

// EventResults are the test results the events gave, per binary.
type EventResults map[string]*Binary

// ReadEvents reads the events files of a run's boots in order; a test
// run again in a later boot counts with its last result. A line that is
// not an event (the tty's noise) is skipped; a missing file is no
// events (a boot that went down early).
func ReadEvents(paths []string) (EventResults, error) {
	res := EventResults{}
	for _, p := range paths {
		f, err := os.Open(p)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		err = res.add(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
	}
	return res, nil
}

// add reads one boot's events.
func (res EventResults) add(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		var e Event
		if !strings.HasPrefix(line, "{") || json.Unmarshal([]byte(line), &e) != nil || e.Package == "" {
			continue
		}
		b := res[e.Package]
		if b == nil {
			b = &Binary{Name: e.Package, Started: true}
			res[e.Package] = b
		}
		switch {
		case e.Test != "" && (e.Action == "pass" || e.Action == "fail" || e.Action == "skip"):
			b.forget(e.Test)
			switch e.Action {
			case "pass":
				b.Passed = append(b.Passed, e.Test)
			case "fail":
				b.Failed = append(b.Failed, e.Test)
			case "skip":
				b.Skipped = append(b.Skipped, e.Test)
			}
		case e.Test == "" && (e.Action == "pass" || e.Action == "fail"):
			b.Ran = true
		}
	}
	return sc.Err()
}

// Agree lists where the console's report and the events disagree: a
// binary one channel saw and the other did not, or a test whose result
// differs. Nothing listed: the events said what the markers said.
func (res EventResults) Agree(r *Report) []string {
	var out []string
	for _, b := range r.Binaries {
		e := res[b.Name]
		switch {
		case e == nil && b.Started:
			out = append(out, fmt.Sprintf("%s: no events, the console has its results", b.Name))
		case e == nil:
		default:
			for _, d := range []struct {
				what            string
				console, events []string
			}{{"passed", b.Passed, e.Passed}, {"failed", b.Failed, e.Failed}, {"skipped", b.Skipped, e.Skipped}} {
				if c, v := sorted(d.console), sorted(d.events); !slices.Equal(c, v) {
					out = append(out, fmt.Sprintf("%s: %s: the console says %s, the events %s", b.Name, d.what, strings.Join(c, ","), strings.Join(v, ",")))
				}
			}
		}
	}
	return out
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
