package figures

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckAndUpdate(t *testing.T) {
	s := Set{Run: "test", Values: map[string]string{"start.vm.ready": "1.90 s", "table.x": "\n| a |\n|---|\n| 1 |\n"}}
	page := "vm was ready in <!--fig start.vm.ready-->2.00 s<!--/fig-->.\n<!--fig table.x-->\n| a |\n|---|\n| 2 |\n<!--/fig-->\n<!--fig gone-->3<!--/fig-->\n"
	bad := s.Check(page)
	if len(bad) != 3 || !strings.Contains(bad[0], `"2.00 s"`) || !strings.Contains(bad[2], "no such figure") {
		t.Fatalf("Check: %q", bad)
	}
	up := s.Update(page)
	if bad := s.Check(up); len(bad) != 1 {
		t.Fatalf("after Update: %q", bad)
	}
	if !strings.Contains(up, "ready in <!--fig start.vm.ready-->1.90 s<!--/fig-->.") || !strings.Contains(up, "| 1 |") {
		t.Fatalf("Update:\n%s", up)
	}
	if q := Quotes(up); len(q) != 3 || q[1].Name != "table.x" {
		t.Fatalf("Quotes: %+v", q)
	}
}

func TestReadWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "figures.json")
	s := Set{Run: "r", Values: map[string]string{"b": "2", "a": "1"}}
	if err := s.Write(path); err != nil {
		t.Fatal(err)
	}
	back, err := Read(path)
	if err != nil || back.Values["a"] != "1" || strings.Join(back.Names(), ",") != "a,b" {
		t.Fatalf("%+v %v", back, err)
	}
}
