package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmmlab/vmm/bench/results"
	"github.com/vmmlab/vmm/bench/workload"
	"github.com/vmmlab/vmm/docs/figures"
	"github.com/vmmlab/vmm/image/process"
	"github.com/vmmlab/vmm/initramfs"
)

// fakeAssets lays out an assets directory whose files exist (the checks
// here run before anything is launched, so their contents do not matter
// except the image, which must be a real one for the container root).
func fakeAssets(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "workloads"), 0o755)
	for _, f := range []string{"bzImage", "bzImage-micro", "root.ext4", "stock.cpio.gz"} {
		os.WriteFile(filepath.Join(dir, f), []byte("not a kernel or image"), 0o644)
	}
	var a initramfs.Archive
	for _, w := range workload.Names() {
		p := filepath.Join(dir, "workloads", w)
		os.WriteFile(p, []byte("#!/bin/true\n"), 0o755)
		a.AddFile("bin/"+w, 0o755, []byte("#!/bin/true\n"))
	}
	f, err := os.Create(filepath.Join(dir, "bench.cpio.gz"))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.WriteGzip(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	os.MkdirAll(filepath.Join(dir, "rootfs"), 0o755)
	return dir
}

func TestBenchRejectsBadInputBeforeStarting(t *testing.T) {
	assets := fakeAssets(t)
	exists := t.TempDir()
	fresh := func() string { return filepath.Join(t.TempDir(), "out") }
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown target", []string{"--targets", "vm,nope"}, `unknown target "nope"`},
		{"unknown density target", []string{"--density-targets", "lxc"}, `unknown target "lxc"`},
		{"unknown workload", []string{"--workload", "redis"}, `unknown workload "redis"`},
		{"max 0", []string{"--max", "0"}, "--max 0"},
		{"app-runs 0", []string{"--app-runs", "0"}, "--app-runs must be at least 1"},
		{"app-n negative", []string{"--app-n", "-1"}, "--app-n at least 0"},
		{"budget above memory", []string{"--budget", "100T"}, "more than this host's memory"},
		{"bad size", []string{"--mem", "12Q"}, "--mem"},
		{"missing kernel", []string{"--kernel", "/nonexistent/bzImage"}, "minimal kernel"},
		{"missing root disk", []string{"--root-disk", "/nonexistent/root.ext4"}, "VM root disk"},
		{"no out", []string{"--out", ""}, "--out DIR is required"},
		{"out exists", []string{"--out", exists}, "exists already"},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"all", "--assets", assets, "--vmm", filepath.Join(assets, "bzImage"), "--out", fresh()}, c.args...)
			var out, errb bytes.Buffer
			rc := runBench(args, &out, &errb)
			if rc != 2 || !strings.Contains(errb.String(), c.want) || strings.Count(strings.TrimSpace(errb.String()), "\n") > 0 {
				t.Errorf("rc %d, stderr %q; want exit 2 and one line with %q", rc, errb.String(), c.want)
			}
		})
	}
	// Nothing was created for the rejected runs.
	if ents, _ := os.ReadDir(exists); len(ents) != 0 {
		t.Errorf("the existing --out directory was written to: %v", ents)
	}
}

func TestBenchUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if rc := runBench(nil, &out, &errb); rc != 2 || !strings.Contains(errb.String(), "vmm bench all") {
		t.Errorf("rc %d %q", rc, errb.String())
	}
	if rc := runBench([]string{"frobnicate"}, &out, &errb); rc != 2 {
		t.Errorf("unknown subcommand: rc %d", rc)
	}
	if rc := runBench([]string{"compare", "a"}, &out, &errb); rc != 2 {
		t.Errorf("compare with one file: rc %d", rc)
	}
	bad := filepath.Join(t.TempDir(), "results.json")
	os.WriteFile(bad, []byte(`{"schema": 99}`), 0o644)
	errb.Reset()
	if rc := runBench([]string{"compare", bad, bad}, &out, &errb); rc != 2 || !strings.Contains(errb.String(), "schema version 99") {
		t.Errorf("compare of another schema: rc %d %q", rc, errb.String())
	}
}

// The ETA counts from the start of the count it belongs to: the second
// density target's first clones were given an ETA from the first
// target's whole run ("2h54m" for a phase that took two minutes), while
// the start phase counts all its targets together.
func TestProgressETAPerTarget(t *testing.T) {
	var out bytes.Buffer
	now := time.Unix(0, 0)
	p := newProgress(&out, true)
	p.now = func() time.Time { return now }
	for i := 1; i <= 3; i++ { // vm: a minute an instance
		p.Step("density", "vm", i, 60)
		now = now.Add(time.Minute)
	}
	now = now.Add(time.Hour) // the rest of vm's run
	p.Step("density", "vm-restore", 1, 60)
	now = now.Add(2 * time.Second)
	p.Step("density", "vm-restore", 2, 60)
	last := out.String()[strings.LastIndex(strings.TrimSpace(out.String()), "\n")+1:]
	if !strings.Contains(last, "vm-restore 2/60, ETA 1m58s") {
		t.Fatalf("last line %q, want vm-restore's own ETA (2 s an instance, 59 to go)", last)
	}
	out.Reset()
	for i, target := range []string{"vm", "crun", "vm", "crun"} { // start: rounds, targets interleaved
		p.Step("start", target, i+1, 4)
		now = now.Add(time.Second)
	}
	if !strings.Contains(out.String(), "crun 4/4, ETA 1s") {
		t.Fatalf("start phase:\n%s\nwant one ETA over all its targets", out.String())
	}
}

// vmm bench report writes the reports and, with --figures, the figures
// the docs quote; a directory it cannot make is exit 1 (the error was
// lost in a shadowed variable and the command said 0).
func TestBenchReport(t *testing.T) {
	dir := t.TempDir()
	from := filepath.Join(dir, "results.json")
	if err := results.WriteResults(from, &results.Results{Schema: results.SchemaVersion}); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	figs := filepath.Join(dir, "figures.json")
	if rc := runBench([]string{"report", "--from", from, "--out", filepath.Join(dir, "r"), "--figures", figs}, &out, &errb); rc != 0 {
		t.Fatalf("rc %d: %s", rc, errb.String())
	}
	for _, f := range []string{"r/report.md", "r/report.html", "r/figures.json", "figures.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	if _, err := figures.Read(figs); err != nil {
		t.Error(err)
	}
	errb.Reset()
	if rc := runBench([]string{"report", "--from", from, "--out", filepath.Join(from, "sub")}, &out, &errb); rc != 1 || !strings.Contains(errb.String(), "not a directory") {
		t.Errorf("an --out under a file: rc %d, %q", rc, errb.String())
	}
}

// --oci-image's flags are checked before anything starts (one line,
// exit 2); only start measures an image.
func TestBenchOCIFlags(t *testing.T) {
	assets := fakeAssets(t)
	for _, c := range []struct {
		name  string
		which string
		args  []string
		want  string
	}{
		{"image with all", "all", []string{"--oci-image", "vmm.local/redis", "--ready", "log:Ready"}, "vmm bench all takes --app"},
		{"app with start", "start", []string{"--app", "redis.tar"}, "--app goes with vmm bench all"},
		{"app without image", "all", []string{"--app", "=log:Ready"}, "want IMAGE[=READY]"},
		{"app bad ready", "all", []string{"--app", "redis.tar=http:80"}, "want log:TEXT, tcp:PORT or http:PORT/PATH"},
		{"bad port", "start", []string{"--oci-image", "vmm.local/redis", "--ready", "tcp:99999"}, "want log:TEXT, tcp:PORT or http:PORT/PATH"},
		{"bad ready", "start", []string{"--oci-image", "vmm.local/redis", "--ready", "Ready"}, "want log:TEXT"},
		{"cmd alone", "start", []string{"--oci-cmd", "redis-server"}, "go with --oci-image"},
		{"unknown packed workload", "all", []string{"--app", "workload:redis"}, `--app workload:redis: unknown workload "redis"`},
	} {
		args := append([]string{c.which, "--assets", assets, "--vmm", filepath.Join(assets, "bzImage"), "--out", filepath.Join(t.TempDir(), "out")}, c.args...)
		var out, errb bytes.Buffer
		rc := runBench(args, &out, &errb)
		if rc != 2 || !strings.Contains(errb.String(), c.want) || strings.Count(strings.TrimSpace(errb.String()), "\n") > 0 {
			t.Errorf("%s: rc %d, stderr %q; want exit 2 and one line with %q", c.name, rc, errb.String(), c.want)
		}
	}
}

// The ready condition comes from the command line, else from the
// image's own label; an image with neither is refused.
func TestReadyOf(t *testing.T) {
	label := map[string]string{process.ReadyLabel: "log:Ready to accept connections"}
	for _, c := range []struct {
		flag   string
		labels map[string]string
		want   string
		ok     bool
	}{
		{"log:up", label, "log:up", true},
		{"", label, "log:Ready to accept connections", true},
		{"", map[string]string{process.ReadyLabel: "http:80/"}, "http:80/", true},
		{"tcp:6379", map[string]string{process.ReadyLabel: "http:80/"}, "tcp:6379", true},
		{"", nil, "", false},
		{"", map[string]string{process.ReadyLabel: "http:80"}, "", false},
	} {
		got, err := readyOf(c.flag, c.labels)
		if (err == nil) != c.ok || err == nil && got.String() != c.want {
			t.Errorf("readyOf(%q, %v) = %q, %v", c.flag, c.labels, got, err)
		}
	}
}
