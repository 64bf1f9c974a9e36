// Package figures owns docs/figures.json, the one file the figures quoted
// in the README and docs/ come from (`vmm bench report --figures` writes
// it from a bench run), and the markers that quote them: in a page,
// <!--fig NAME-->VALUE<!--/fig--> is figure NAME, a word or a whole
// Markdown table. Check finds a quoted value that is not the file's, and
// Update rewrites every quoted value from the file, so a page cannot
// drift from the run it quotes.
package figures

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
)

// Schema is the version of figures.json's layout.
const Schema = 1

// Set is one bench run's figures, by name.
type Set struct {
	Schema int               `json:"schema"`
	Run    string            `json:"run"` // which run: revision, date, rounds, where
	Values map[string]string `json:"figures"`
}

// Read reads a figures.json, refusing another schema.
func Read(path string) (Set, error) {
	var s Set
	b, err := os.ReadFile(path)
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("%s: %w", path, err)
	}
	if s.Schema != Schema {
		return s, fmt.Errorf("%s: schema %d, this vmm reads %d", path, s.Schema, Schema)
	}
	return s, nil
}

// Write writes the set as indented JSON (names sorted).
func (s Set) Write(path string) error {
	s.Schema = Schema
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// marker matches one quoted figure: its name and its value.
var marker = regexp.MustCompile(`(?s)<!--fig ([\w.-]+)-->(.*?)<!--/fig-->`)

// Quote is one figure quoted in a page.
type Quote struct {
	Name, Value string
}

// Quotes lists the figures a page quotes, in order.
func Quotes(page string) []Quote {
	var out []Quote
	for _, m := range marker.FindAllStringSubmatch(page, -1) {
		out = append(out, Quote{m[1], m[2]})
	}
	return out
}

// Check lists the quotes of page that the set does not hold or holds
// with another value.
func (s Set) Check(page string) []string {
	var bad []string
	for _, q := range Quotes(page) {
		v, ok := s.Values[q.Name]
		switch {
		case !ok:
			bad = append(bad, fmt.Sprintf("%s: no such figure", q.Name))
		case v != q.Value:
			bad = append(bad, fmt.Sprintf("%s: the page says %q, the figures %q", q.Name, short(q.Value), short(v)))
		}
	}
	return bad
}

// Update rewrites every quote of page with the set's value (a name the
// set lacks stays as it is, for Check to report).
func (s Set) Update(page string) string {
	return marker.ReplaceAllStringFunc(page, func(m string) string {
		name := marker.FindStringSubmatch(m)[1]
		v, ok := s.Values[name]
		if !ok {
			return m
		}
		return "<!--fig " + name + "-->" + v + "<!--/fig-->"
	})
}

// Names lists the set's names, sorted.
func (s Set) Names() []string {
	names := make([]string, 0, len(s.Values))
	for n := range s.Values {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// short is the first line of s, at most 60 bytes, for a message.
func short(s string) string {
	line, _, more := strings.Cut(strings.TrimLeft(s, "\n"), "\n")
	if len(line) > 60 {
		line, more = line[:60], true
	}
	if more {
		line += "…"
	}
	return line
}
