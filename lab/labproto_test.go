package lab

import (
	"os"
	"regexp"
	"slices"
	"testing"

	"github.com/vmmlab/vmm/lab/labproto"
)

// Every marker the outer guest's script prints is in the one list of
// markers, and every marker in the list is printed by the script, but
// the stall markers, which cmd/testwatch prints from the list itself.
func TestMarkersAreTheProtocols(t *testing.T) {
	printed := map[string]bool{}
	for _, f := range []string{"outer-init.sh"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`LAB-[A-Z]+(?:-[A-Z]+)*`).FindAllString(string(b), -1) {
			printed[m] = true
		}
	}
	for m := range printed {
		if !slices.Contains(labproto.All(), m) {
			t.Errorf("%s is printed but not in package labproto", m)
		}
	}
	for _, m := range labproto.All() {
		if !printed[m] && m != labproto.Stall && m != labproto.StallEnd {
			t.Errorf("labproto's %s is printed by nobody", m)
		}
	}
}
