package rules

import (
	"bytes"
	"fmt"
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

// confine replaces ListenerMark in the API program; it keeps its own copy
// of the value (this package and its compiler stay out of vmm).
func TestListenerMarkMatchesConfine(t *testing.T) {
	src, err := os.ReadFile("../confine.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(src, []byte(fmt.Sprintf("const listenerMark = %#x", ListenerMark))) {
		t.Errorf("confine.go's listenerMark is not %#x", ListenerMark)
	}
}
