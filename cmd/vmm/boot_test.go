package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmmlab/vmm/internal/testkernel"
	"github.com/vmmlab/vmm/machine"
	"github.com/vmmlab/vmm/memory"
	"github.com/vmmlab/vmm/runresult"
)

func TestBootErrors(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir()) // no default initramfs in the cache
	dir := t.TempDir()
	script := filepath.Join(dir, "script")
	os.WriteFile(script, []byte("#!/bin/sh\n"), 0o644)
	kernel := filepath.Join(dir, "bzImage")
	os.WriteFile(kernel, testkernel.BzImage(testkernel.PowerOff, 0), 0o644)
	bigKernel := filepath.Join(dir, "big-bzImage")
	os.WriteFile(bigKernel, testkernel.BzImage(testkernel.PowerOff, 60<<20), 0o644)
	pmem := filepath.Join(dir, "pmem.img")
	os.WriteFile(pmem, nil, 0o644)
	os.Truncate(pmem, memory.WindowAlign)
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{}, 2, "--kernel is required"},
		{[]string{"--kernel", filepath.Join(dir, "nope")}, 2, "no such file"},
		{[]string{"--kernel", dir}, 2, "not a regular file"},
		{[]string{"--kernel", script, "--mem", "12Q"}, 2, `unknown unit "Q"`},
		{[]string{"--kernel", script, "--initrd", "none", "--thp", "maybe"}, 2, `--thp "maybe": want auto, on or off`},
		{[]string{"--kernel", script, "extra"}, 2, "unexpected argument"},
		{[]string{"--kernel", script, "--initrd", filepath.Join(dir, "nope")}, 2, "initrd"},
		{[]string{"--kernel", script, "--initrd", "none"}, 1, "not a Linux bzImage"},
		{[]string{"--kernel", kernel, "--initrd", "none", "--cpus", "0"}, 1, "vCPUs"},
		{[]string{"--kernel", kernel}, 2, "no default initramfs"},
		{[]string{"--kernel", bigKernel, "--initrd", "none", "--mem", "32M"}, 1, "not enough memory"},
		{[]string{"--kernel", kernel, "--initrd", "none", "--kvm-device", filepath.Join(dir, "kvm")}, 1, "no KVM"},
		{[]string{"--bogus"}, 2, "unknown flag"},
		{[]string{"--kernel", kernel, "--initrd", "none", "--disk", filepath.Join(dir, "nodisk")}, 2, "--disk"},
		{[]string{"--kernel", kernel, "--initrd", "none", "--disk", kernel + ",rw"}, 2, "unknown option"},
		{[]string{"--kernel", kernel, "--initrd", "none", "--pmem", filepath.Join(dir, "nofile")}, 2, "--pmem"},
		{[]string{"--kernel", kernel, "--initrd", "none", "--pmem", kernel}, 2, "not a non-zero multiple of 2 MiB"},
		{[]string{"--kernel", kernel, "--initrd", "none", "--pmem", dir}, 2, "not a regular file"},
		{[]string{"--kernel", kernel, "--initrd", "none", "--pmem", pmem + ",rw"}, 2, "unknown option"},
		{[]string{"--kernel", kernel, "--initrd", "none", "--pmem", pmem, "--snapshot-on-ready", filepath.Join(dir, "s")}, 2, "cannot be snapshotted"},
		{[]string{"--kernel", kernel, "--initrd", "none", "--net", "tap="}, 2, "unknown option"},
		{[]string{"--kernel", kernel, "--initrd", "none", "--net", "mac=02:00:00:00:00:01"}, 2, "exactly one of"},
		{[]string{"--kernel", kernel, "--initrd", "none", "--net", "tap=t0,fd=3"}, 2, "exactly one of"},
		{[]string{"--kernel", kernel, "--initrd", "none", "--net", "fd=1"}, 2, "3 or more"},
		{[]string{"--kernel", kernel, "--initrd", "none", "--net", "tap=t0,mac=zz"}, 2, "six hex bytes"},
		{[]string{"--kernel", kernel, "--initrd", "none", "--net", "tap=t0,mac=01:00:5e:00:00:01"}, 2, "multicast"},
		{[]string{"--kernel", kernel, "--initrd", "none", "--net", "bridge=br0"}, 2, "unknown option"},
		{[]string{"--kernel", kernel, "--initrd", "none", "--virtio", "ccw"}, 2, "want pci or mmio"},
		{[]string{"--kernel", kernel, "--initrd", "none", "--rng", "maybe"}, 2, "want on, off or rate=BYTES"},
		{[]string{"--kernel", kernel, "--initrd", "none", "--rng", "rate=1Q"}, 2, `unknown unit "Q"`},
		{[]string{"--kernel", kernel, "--initrd", "none", "--balloon", "big"}, 2, "want on, off or target=SIZE"},
		// Half a privilege drop is refused before anything starts.
		{[]string{"--kernel", kernel, "--initrd", "none", "--uid", "1000"}, 2, "--uid needs --gid"},
		{[]string{"--kernel", kernel, "--initrd", "none", "--gid", "1000"}, 2, "--gid needs --uid"},
		{[]string{"--kernel", kernel, "--initrd", "none", "--chroot", dir}, 2, "--chroot needs --uid and --gid"},
		{[]string{"--kernel", kernel, "--initrd", "none", "--chroot", dir, "--uid", "1000"}, 2, "--uid needs --gid"},
	}
	for _, c := range cases {
		var out, errb bytes.Buffer
		code := dispatch(append([]string{"boot"}, c.args...), &out, &errb)
		if code != c.code || !strings.Contains(errb.String(), c.want) {
			t.Errorf("vmm boot %q: exit %d, stderr %q; want exit %d and %q", c.args, code, errb.String(), c.code, c.want)
		}
		if strings.Count(strings.TrimSpace(errb.String()), "\n") > 0 && c.code != 2 {
			t.Errorf("vmm boot %q: more than one error line: %q", c.args, errb.String())
		}
	}
}

func TestEscaper(t *testing.T) {
	var e escaper
	out, quit := e.filter([]byte("ab\x01\x01c\x01"))
	if string(out) != "ab\x01c" || quit {
		t.Fatalf("out %q quit %v", out, quit)
	}
	out, quit = e.filter([]byte("xyz")) // the escape spans two reads
	if len(out) != 0 || !quit {
		t.Fatalf("out %q quit %v", out, quit)
	}
	e = escaper{}
	if out, quit = e.filter([]byte("\x01q")); string(out) != "\x01q" || quit {
		t.Fatalf("out %q quit %v", out, quit)
	}
}

func TestReport(t *testing.T) {
	var b bytes.Buffer
	r := machine.Result{Event: machine.Event{Kind: machine.Crashed, Detail: "triple fault", Dump: "rip 0"}, Booted: false}
	if code := report(r, resultOf(r, 0, 0, nil, ""), true, &b); code != 1 {
		t.Fatalf("crash exit code %d", code)
	}
	var j runresult.Result
	if err := json.Unmarshal(b.Bytes(), &j); err != nil || j.Reason != "crashed" || j.ExitCode != 1 || j.Registers != "rip 0" {
		t.Fatalf("json %s: %v", b.String(), err)
	}
	b.Reset()
	off := machine.Result{Event: machine.Event{Kind: machine.PowerOff, Detail: "guest powered off"}}
	if code := report(off, resultOf(off, 0, 0, nil, ""), false, &b); code != 0 ||
		!strings.Contains(b.String(), "poweroff: guest powered off") {
		t.Fatalf("poweroff: %d %q", code, b.String())
	}
	b.Reset()
	st := machine.Result{Event: machine.Event{Kind: machine.PowerOff}, GuestStatus: 3, HasGuestStatus: true}
	if code := report(st, resultOf(st, 0, 0, nil, ""), false, &b); code != 3 || !strings.Contains(b.String(), "workload exit status 3") {
		t.Fatalf("workload status: %d %q", code, b.String())
	}
	stopped := machine.Result{Event: machine.Event{Kind: machine.Interrupted}}
	if code := report(stopped, resultOf(stopped, 0, 0, nil, ""), false, &b); code != 130 {
		t.Fatalf("interrupted exit code %d", code)
	}
	// A device that gave up, and console output a stalled stdout dropped,
	// are in the last line and in --json.
	failed := machine.Result{Event: machine.Event{Kind: machine.PowerOff}, DeviceFailures: []string{"virtio-blk 0 (d.img): activation: no backend"}}
	b.Reset()
	report(failed, resultOf(failed, 0, 42, nil, ""), false, &b)
	if !strings.Contains(b.String(), "device failed: virtio-blk 0 (d.img): activation: no backend") || !strings.Contains(b.String(), "42 bytes of console output dropped") {
		t.Errorf("last line %q", b.String())
	}
	b.Reset()
	report(failed, resultOf(failed, 0, 42, nil, ""), true, &b)
	if err := json.Unmarshal(b.Bytes(), &j); err != nil || len(j.Failures) != 1 || j.Dropped != 42 {
		t.Errorf("json %s: %v", b.String(), err)
	}
	// A restored guest booted before its snapshot: the last line says it
	// was restored, not that it never reported booting.
	restored := machine.Result{Event: machine.Event{Kind: machine.PowerOff, Detail: "guest powered off"}, Restored: true}
	b.Reset()
	report(restored, resultOf(restored, 0, 0, nil, ""), false, &b)
	if !strings.Contains(b.String(), "restored from a snapshot") || strings.Contains(b.String(), "did not report booting") {
		t.Errorf("restored, last line %q", b.String())
	}
	b.Reset()
	report(restored, resultOf(restored, 0, 0, nil, ""), true, &b)
	j = runresult.Result{}
	if err := json.Unmarshal(b.Bytes(), &j); err != nil || !j.Restored || j.Booted {
		t.Errorf("restored, json %s: %v", b.String(), err)
	}
}

func TestParseNICs(t *testing.T) {
	nics, err := parseNICs([]string{"tap=vmtap0,mac=02:00:00:00:00:07", "fd=5"})
	if err != nil {
		t.Fatal(err)
	}
	if len(nics) != 2 || nics[0].Tap != "vmtap0" || nics[0].MAC != [6]byte{2, 0, 0, 0, 0, 7} ||
		nics[1].Tap != "" || nics[1].FD != 5 || nics[1].MAC != [6]byte{} {
		t.Errorf("parsed %+v", nics)
	}
	// Defect: fd=5,fd=6 silently kept the last, and the same descriptor
	// for two NICs was closed twice.
	for _, bad := range [][]string{{"fd=5,fd=6"}, {"fd=5", "fd=5"}, {"tap=a", "tap=a"}, {"tap=a,mac=02:00:00:00:00:01,mac=02:00:00:00:00:02"}} {
		if _, err := parseNICs(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestParseRNG(t *testing.T) {
	for _, c := range []struct {
		in   string
		want *machine.RNG
	}{{"on", &machine.RNG{Rate: 1 << 20}}, {"off", nil}, {"rate=64K", &machine.RNG{Rate: 64 << 10}}, {"rate=0", &machine.RNG{}}} {
		got, err := parseRNG(c.in)
		if err != nil || (got == nil) != (c.want == nil) || got != nil && *got != *c.want {
			t.Errorf("parseRNG(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
}

func TestParseBalloon(t *testing.T) {
	for _, c := range []struct {
		in   string
		want *machine.Balloon
	}{{"off", nil}, {"on", &machine.Balloon{}}, {"target=64M", &machine.Balloon{Target: 64 << 20}}} {
		got, err := parseBalloon(c.in)
		if err != nil || (got == nil) != (c.want == nil) || got != nil && *got != *c.want {
			t.Errorf("parseBalloon(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
}

func TestParseVsock(t *testing.T) {
	for _, c := range []struct {
		in   string
		want *machine.Vsock
	}{{"", nil}, {"off", nil}, {"cid=3,uds=/tmp/v.sock", &machine.Vsock{CID: 3, Path: "/tmp/v.sock"}}} {
		got, err := parseVsock(c.in)
		if err != nil || (got == nil) != (c.want == nil) || got != nil && *got != *c.want {
			t.Errorf("parseVsock(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"cid=2,uds=/x", "cid=3", "uds=/x", "cid=x,uds=/x", "cid=3,uds=/x,port=1", "cid=4294967295,uds=/x"} {
		if v, err := parseVsock(bad); err == nil {
			t.Errorf("parseVsock(%q) = %+v, want an error", bad, v)
		}
	}
}

// On a KVM without VMX or SVM, a guest that never booted is reported with
// the reason the host gives; a guest that booted is not.
func TestReportSaysWhyTheHostsKVMMayNotRunTheGuest(t *testing.T) {
	const why = "this host's KVM is kvm_pvm (no VMX or SVM), which runs only guests built for it"
	crashed := machine.Result{Event: machine.Event{Kind: machine.Crashed, Detail: "vCPU 0: KVM_EXIT_INTERNAL_ERROR"}}
	var b strings.Builder
	report(crashed, resultOf(crashed, 0, 0, nil, why), false, &b)
	if !strings.Contains(b.String(), why) {
		t.Errorf("a guest that never booted: %q lacks the host's problem", b.String())
	}
	b.Reset()
	report(crashed, resultOf(crashed, 0, 0, nil, why), true, &b)
	if !strings.Contains(b.String(), `"host_problem":"this host's KVM is kvm_pvm`) {
		t.Errorf("--json: %q lacks host_problem", b.String())
	}
	b.Reset()
	crashed.Booted = true
	report(crashed, resultOf(crashed, 0, 0, nil, why), false, &b)
	if strings.Contains(b.String(), "kvm_pvm") {
		t.Errorf("a guest that booted: %q blames the host", b.String())
	}
}

// --ksm turns transparent huge pages off unless --thp on asks for them.
func TestKSMHugePages(t *testing.T) {
	for _, c := range []struct {
		thp  string
		ksm  bool
		want memory.HugePages
	}{
		{"auto", false, memory.HugePagesDefault}, {"auto", true, memory.HugePagesOff},
		{"on", true, memory.HugePagesOn}, {"off", true, memory.HugePagesOff}, {"on", false, memory.HugePagesOn},
	} {
		got, err := bootOptions{thp: c.thp, ksm: c.ksm}.hugePages()
		if err != nil || got != c.want {
			t.Errorf("--thp %s --ksm=%v: %v, %v; want %v", c.thp, c.ksm, got, err, c.want)
		}
	}
}
