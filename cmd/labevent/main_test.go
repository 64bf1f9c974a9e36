package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmmlab/vmm/lab/labproto"
)

// Two events sent to one channel read back as two events, with the
// guest's uptime, and a file comes back with its bytes.
func TestSendEvents(t *testing.T) {
	dir := t.TempDir()
	up := filepath.Join(dir, "uptime")
	os.WriteFile(up, []byte("123.45 400.00\n"), 0o644)
	results := filepath.Join(dir, "results.json")
	os.WriteFile(results, []byte(`{"schema":3}`), 0o644)
	channel := filepath.Join(dir, "ttyS1")

	end, err := options{pkg: "e2e.test", exit: 1, uptime: up}.event(labproto.End)
	if err != nil {
		t.Fatal(err)
	}
	file, err := options{file: "results.json=" + results, uptime: up}.event(labproto.File)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []labproto.Event{end, file} {
		if err := send(channel, e); err != nil {
			t.Fatal(err)
		}
	}
	f, _ := os.Open(channel)
	defer f.Close()
	evs, err := labproto.Read(f)
	if err != nil || len(evs) != 2 {
		t.Fatalf("events %+v, %v", evs, err)
	}
	if e := evs[0]; e.Action != labproto.End || e.Package != "e2e.test" || e.Exit != 1 || e.Uptime != 123.45 || e.Time == "" {
		t.Errorf("end event %+v", e)
	}
	if b, err := evs[1].FileData(); err != nil || evs[1].Name != "results.json" || string(b) != `{"schema":3}` {
		t.Errorf("file event %+v: %q, %v", evs[1], b, err)
	}
}

func TestBadEvents(t *testing.T) {
	for _, c := range []struct {
		o      options
		action string
		want   string
	}{
		{options{}, "lab-nonsense", "unknown action"},
		{options{}, "pass", "unknown action"},
		{options{file: "no-equals"}, labproto.File, "want NAME=PATH"},
		{options{file: "x=" + filepath.Join(t.TempDir(), "missing")}, labproto.File, "no such file"},
	} {
		if _, err := c.o.event(c.action); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %+v: %v, want %q", c.action, c.o, err, c.want)
		}
	}
}
