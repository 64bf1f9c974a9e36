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
	app.Disk = &results.ImageDisk{TarballBytes: 40 << 20, Ext4Bytes: 60 << 20,
		Layers: []results.LayerDisk{{ID: "0123456789abcdef0123", Bytes: 30 << 20, SharedWith: []string{"nginx.tar"}}, {ID: "fedcba9876543210", Bytes: 10 << 20}}}
	r.Targets = append(r.Targets, results.TargetInfo{Name: "runc", Kind: results.KindContainer})
	r.Apps = []results.AppRun{app}
	var md bytes.Buffer
	if err := WriteMarkdown(&md, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## Application images", "### `redis.tar` (0123456789ab), ready at log:Ready to accept connections",
		"| vm | 3.00 s | 2 | 3.00× (3.00–3.00) | 60.0 MiB | 40.0 MiB / 256.0 MiB | – |", "| crun | 1.00 s | 2 | – | failed: no | – | 1: crun: boom |", "| runc | not run | 0 | – | not measured |",
		"Not run for this image: vm-restore (does not run OCI images yet); process (does not run OCI images yet).",
		"On disk: the image file 40.0 MiB; its layers unpacked 40.0 MiB (0123456789ab 30.0 MiB (shared with nginx.tar: one copy), fedcba987654 10.0 MiB); the VMs' read-only ext4 60.0 MiB",
		"redis.tar: file 40.0 MiB, layers 40.0 MiB, VM ext4 60.0 MiB"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, md.String())
		}
	}
}

// With only application images measured, the image claim is judged
// from their VM disks.
func TestImageClaimFromApps(t *testing.T) {
	r := &results.Results{Apps: []results.AppRun{{Image: "/x/redis.tar", Disk: &results.ImageDisk{Ext4Bytes: 90 << 20, Layers: []results.LayerDisk{{Bytes: 60 << 20}}}}}}
	for _, c := range Claims(r) {
		if strings.HasPrefix(c.Claim, "VM images are tens of GB") {
			if c.Verdict != "does not hold for a microVM: an application image's VM disk was 90.0 MiB, 1.5× its unpacked layers, not tens of GB" ||
				c.Measured != "redis.tar: file 0.0 MiB, layers 60.0 MiB, VM ext4 90.0 MiB" {
				t.Errorf("%+v", c)
			}
			return
		}
	}
	t.Error("no image claim")
}
