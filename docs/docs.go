// Package docs holds vmm's guides and claim pages (Markdown, beside this
// file) and finds their runnable commands: every ```sh block, with the
// <!-- expect: TEXT --> lines after it, so that a test can run each one
// and check its output.
package docs

import (
	"embed"
	"fmt"
	"io/fs"
	"strings"
)

//go:embed *.md claims/*.md
var pages embed.FS

// Command is one runnable block of a page.
type Command struct {
	Page   string
	Line   int
	Shell  string   // the block, for sh -c
	Expect []string // what its output must contain
}

// Commands lists the runnable blocks of every page, in page order.
func Commands() ([]Command, error) {
	var out []Command
	err := fs.WalkDir(pages, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := pages.ReadFile(path)
		if err != nil {
			return err
		}
		cmds, err := parse(path, string(b))
		out = append(out, cmds...)
		return err
	})
	return out, err
}

// parse finds the sh blocks of one page.
func parse(page, text string) ([]Command, error) {
	lines := strings.Split(text, "\n")
	var out []Command
	for i := 0; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != "```sh" {
			continue
		}
		c := Command{Page: page, Line: i + 1}
		j := i + 1
		for ; j < len(lines) && strings.TrimSpace(lines[j]) != "```"; j++ {
			c.Shell += lines[j] + "\n"
		}
		if j == len(lines) {
			return nil, fmt.Errorf("%s:%d: a sh block without its end", page, c.Line)
		}
		for j++; j < len(lines); j++ {
			e, ok := strings.CutPrefix(strings.TrimSpace(lines[j]), "<!-- expect: ")
			if !ok {
				break
			}
			c.Expect = append(c.Expect, strings.TrimSuffix(e, " -->"))
		}
		if len(c.Expect) == 0 {
			return nil, fmt.Errorf("%s:%d: a sh block without <!-- expect: ... --> lines: nothing would check it", page, c.Line)
		}
		out = append(out, c)
		i = j - 1
	}
	return out, nil
}
