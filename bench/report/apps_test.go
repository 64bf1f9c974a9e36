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

// N instances of an image: memory per instance and per extra one, the
// image in the host's page cache, the disk (the VMs' ext4 once; the containers'
// layers once plus their writes), and the same target's http workload
// density of the run beside it; a run that never started says so.
func TestAppDensityTable(t *testing.T) {
	r := synthetic(1)
	r.Density = []results.DensityRun{{Target: "vm", Count: 20, MemAvailablePer: 40 << 20}}
	written, vmCached, ctrCached := int64(3<<20), int64(20<<20), int64(12<<20)
	app := results.AppRun{Image: "redis.tar", ID: "sha256:0123456789abcdef", Ready: "log:Ready",
		Disk: &results.ImageDisk{Ext4Bytes: 60 << 20, Layers: []results.LayerDisk{{ID: "a", Bytes: 30 << 20}, {ID: "b", Bytes: 10 << 20}}},
		Density: []results.DensityRun{
			{Target: "vm", Max: 3, Count: 3, StopReason: "reached --max 3", MemAvailablePer: 50 << 20, PssPer: 45 << 20, ImageCachedBytes: &vmCached,
				Points: []results.DensityPoint{{N: 1, MemAvailableDrop: 70 << 20}, {N: 2, MemAvailableDrop: 110 << 20}, {N: 3, MemAvailableDrop: 150 << 20}}},
			{Target: "crun", Max: 3, Count: 3, StopReason: "reached --max 3", MemAvailablePer: 10 << 20, PssPer: 8 << 20, ImageCachedBytes: &ctrCached, WrittenBytes: &written,
				Points: []results.DensityPoint{{N: 1, MemAvailableDrop: 10 << 20}, {N: 3, MemAvailableDrop: 30 << 20}}},
			{Target: "runc", Max: 3, StopReason: "instance 1 failed"},
		}}
	r.Apps = []results.AppRun{app}
	var md bytes.Buffer
	if err := WriteMarkdown(&md, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Up to 3 idle instances at once on each density target",
		"| vm | 3 (reached --max 3) | 50.0 MiB | 40.0 MiB | 45.0 MiB | 20.0 MiB | ext4 60.0 MiB once; writes stay in each guest's tmpfs | 40.0 MiB |",
		"| crun | 3 (reached --max 3) | 10.0 MiB | 10.0 MiB | 8.0 MiB | 12.0 MiB | layers 40.0 MiB once + 3.0 MiB written by all | not measured |",
		"| runc | 0 (instance 1 failed) | – | – | – | – | not measured | not measured |"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, md.String())
		}
	}
}

// An image that packs a bench workload is compared, round by round,
// with the same workload from the bench image on vm.
func TestAppBaselineLine(t *testing.T) {
	a := results.AppRun{Image: "workload:http", Workload: "http", Start: &results.StartResults{Runs: 2}}
	if got := baselineLine(a); got != "The http workload packed as this image against vm (bench image): not measured (no round with both)." {
		t.Errorf("without samples: %q", got)
	}
	for round, ms := range []float64{1100, 1300} {
		a.Start.Samples = append(a.Start.Samples, results.StartSample{Target: "vm", Round: round, ReadyMS: ms},
			results.StartSample{Target: results.Baseline("vm"), Round: round, ReadyMS: 1000})
	}
	want := "The http workload packed as this image, against the same program from the bench's own image on vm in the same rounds: ready 1.20 s against 1.00 s, 1.20× (1.10–1.30) (paired, 2 rounds)."
	if got := baselineLine(a); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}
