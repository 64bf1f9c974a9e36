package lab

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The events of two boots make one result per test, the later boot's
// counting for a test run again; lines that are not events are skipped;
// Agree finds where the console said otherwise.
func TestReadEventsAndAgree(t *testing.T) {
	dir := t.TempDir()
	boot1 := `{"Action":"start","Package":"e2e.test"}
{"Action":"run","Package":"e2e.test","Test":"TestA"}
{"Action":"output","Package":"e2e.test","Test":"TestA","Output":"--- PASS: TestA\n"}
{"Action":"pass","Package":"e2e.test","Test":"TestA"}` + "\r\n" + `garbage from the tty
{"Action":"fail","Package":"e2e.test","Test":"TestB"}
`
	boot2 := `{"Action":"pass","Package":"e2e.test","Test":"TestB"}
{"Action":"skip","Package":"e2e.test","Test":"TestC"}
{"Action":"pass","Package":"e2e.test"}
{"Action":"pass","Package":"kvm.test","Test":"TestK"}
`
	p1, p2 := filepath.Join(dir, "events-1.jsonl"), filepath.Join(dir, "events-2.jsonl")
	os.WriteFile(p1, []byte(boot1), 0o644)
	os.WriteFile(p2, []byte(boot2), 0o644)
	ev, err := ReadEvents([]string{p1, p2, filepath.Join(dir, "events-3.jsonl")})
	if err != nil {
		t.Fatal(err)
	}
	e := ev["e2e.test"]
	if e == nil || strings.Join(e.Passed, ",") != "TestA,TestB" || len(e.Failed) != 0 || strings.Join(e.Skipped, ",") != "TestC" || !e.Ran {
		t.Fatalf("e2e.test: %+v", e)
	}
	console := &Report{Binaries: []*Binary{
		{Name: "e2e.test", Started: true, Passed: []string{"TestB", "TestA"}, Skipped: []string{"TestC"}},
		{Name: "kvm.test", Started: true, Passed: []string{"TestK"}},
		{Name: "machine.test"},
	}}
	if d := ev.Agree(console); len(d) != 0 {
		t.Errorf("the channels agree, but: %q", d)
	}
	console.Binaries[1].Passed, console.Binaries[1].Failed = nil, []string{"TestK"}
	console.Binaries[2].Started = true
	d := ev.Agree(console)
	if len(d) != 3 || !strings.Contains(d[0], "kvm.test: passed") || !strings.Contains(d[2], "machine.test: no events") {
		t.Errorf("disagreements: %q", d)
	}
}
