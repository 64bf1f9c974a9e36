package rules

import (
	"bytes"
	"os"
	"testing"
)

// The program vmm installs is what these rules compile to: a changed
// rule without `go generate ./confine` fails here.
func TestGeneratedProgramIsCurrent(t *testing.T) {
	want, err := GoSource()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../program.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("confine/program.go is stale: run go generate ./confine")
	}
}
