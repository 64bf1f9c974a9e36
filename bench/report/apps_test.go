package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/vmmlab/vmm/bench/results"
)

// An application image's section: each target that ran it with its
// median and paired ratio to crun, its idle memory, a failed target's
// reason, and the targets that cannot run images named with why.
func TestAppSection(t *testing.T) {
	r := synthetic(1)
	app := results.AppRun{Image: "redis.tar", ID: "sha256:0123456789abcdef", Ready: "log:Ready to accept connections",
		Skipped: []results.Unavailable{{Target: "vm-restore", Reason: "does not run OCI images yet"}, {Target: "process", Reason: "does not run OCI images yet"}},
		Start:   &results.StartResults{Workload: "redis.tar (OCI image)", Runs: 2}}
	for round := 0; round < 2; round++ {
		app.Start.Samples = append(app.Start.Samples, results.StartSample{Target: "vm", Round: round, ReadyMS: 3000},
			results.StartSample{Target: "crun", Round: round, ReadyMS: 1000})
	}
	app.Start.Samples = append(app.Start.Samples, results.StartSample{Target: "crun", Round: 2, Error: "crun: boom\nmore"})
	app.Memory = []results.MemorySample{{Target: "vm", Pss: 60 << 20, GuestRss: 40 << 20, GuestConfigured: 256 << 20}, {Target: "crun", Error: "no"}}
	r.Targets = append(r.Targets, results.TargetInfo{Name: "runc", Kind: results.KindContainer})
	r.Apps = []results.AppRun{app}
	var md bytes.Buffer
	if err := WriteMarkdown(&md, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## Application images", "### `redis.tar` (0123456789ab), ready at log:Ready to accept connections",
		"| vm | 3.00 s | 2 | 3.00× (3.00–3.00) | 60.0 MiB | 40.0 MiB / 256.0 MiB | – |", "| crun | 1.00 s | 2 | – | failed: no | – | 1: crun: boom |", "| runc | not run | 0 | – | not measured |",
		"Not run for this image: vm-restore (does not run OCI images yet); process (does not run OCI images yet)."} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, md.String())
		}
	}
}
