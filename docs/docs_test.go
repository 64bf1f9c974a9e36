package docs

import "testing"

// Every page parses, and the guides have their commands.
func TestCommands(t *testing.T) {
	cmds, err := Commands()
	if err != nil {
		t.Fatal(err)
	}
	pages := map[string]int{}
	for _, c := range cmds {
		pages[c.Page]++
	}
	if pages["vm-boot.md"] < 4 || pages["container-start.md"] < 1 {
		t.Fatalf("commands by page: %v", pages)
	}
	if _, err := parse("x.md", "```sh\necho hi\n```\nno expectation\n"); err == nil {
		t.Error("a block without expectations was accepted")
	}
	if _, err := parse("x.md", "```sh\necho hi\n"); err == nil {
		t.Error("an unterminated block was accepted")
	}
}
