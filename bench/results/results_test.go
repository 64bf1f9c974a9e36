package results

import (
	"math"
	"path/filepath"
	"strings"
	"testing"
)

// results.json round-trips, another schema version is refused, and the
// lookups find what a report asks for.
func TestResultsFile(t *testing.T) {
	r := &Results{Schema: SchemaVersion, Memory: []MemorySample{{Target: "vm", Error: "boom"}, {Target: "vm", Pss: 7}},
		Density: []DensityRun{{Target: "crun", Count: 3}},
		Start:   &StartResults{Samples: []StartSample{{Target: "vm", ReadyMS: 3}, {Target: "vm", ReadyMS: 1}, {Target: "vm", ReadyMS: 100, Warmup: true}}}}
	path := filepath.Join(t.TempDir(), "results.json")
	if err := WriteResults(path, r); err != nil {
		t.Fatal(err)
	}
	back, err := ReadResults(path)
	if err != nil {
		t.Fatal(err)
	}
	if m := back.MemoryOf("vm"); m == nil || m.Pss != 7 {
		t.Errorf("MemoryOf(vm) = %+v, want the sample without an error", m)
	}
	if back.DensityOf("crun").Count != 3 || back.DensityOf("vm") != nil {
		t.Error("DensityOf")
	}
	if got := back.MedianReady("vm"); got != 2 {
		t.Errorf("median ready %v, want 2 (the warm-up round left out)", got)
	}
	if !math.IsNaN(back.MedianReady("crun")) {
		t.Error("a target without samples has a median")
	}
	r.Schema = SchemaVersion + 1
	WriteResults(path, r)
	if _, err := ReadResults(path); err == nil || !strings.Contains(err.Error(), "schema version") {
		t.Errorf("another schema: %v", err)
	}
}
