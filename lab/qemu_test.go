package lab

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A guest that prints and then falls silent is stopped after Idle, long
// before Timeout, and the run counts as timed out.
func TestBootStopsSilentGuest(t *testing.T) {
	fake := fakeQEMUBinary(t, "echo LAB-BOOTED\nexec sleep 60\n")
	q := QEMU{Binary: fake, Memory: "1G", SMP: 1, Timeout: time.Minute, Idle: 500 * time.Millisecond}
	start := time.Now()
	b, err := q.Boot(context.Background(), io.Discard)
	if err != nil || b.Stopped == nil || b.Lockup() || len(b.Lines) != 1 || b.Lines[0] != "LAB-BOOTED" {
		t.Fatalf("lines %q stopped %v err %v", b.Lines, b.Stopped, err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Fatalf("took %v to notice the silent guest", d)
	}
}

// A silent console is the outer guest's failure (booted again) only when
// its init had started the heartbeat; without one it may be a quiet test.
func TestBootSilentAfterHeartbeatIsOuterFailure(t *testing.T) {
	for _, c := range []struct {
		script string
		outer  bool
	}{
		{"echo LAB-BOOTED\necho " + HeartbeatLine + " every=60s\nexec sleep 60\n", true},
		{"echo LAB-BOOTED\nexec sleep 60\n", false},
	} {
		fake := fakeQEMUBinary(t, c.script)
		q := QEMU{Binary: fake, Memory: "1G", SMP: 1, Timeout: time.Minute, Idle: 500 * time.Millisecond}
		b, err := q.Boot(context.Background(), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if got := b.OuterFailure(); (got != "") != c.outer || b.Hung() != c.outer {
			t.Errorf("%q: OuterFailure %q, Hung %v; want an outer failure: %v", c.script, got, b.Hung(), c.outer)
		}
	}
}

func TestBootMissingQEMU(t *testing.T) {
	q := QEMU{Binary: filepath.Join(t.TempDir(), "none"), Timeout: time.Second}
	if _, err := q.Boot(context.Background(), io.Discard); err == nil {
		t.Fatal("missing QEMU accepted")
	}
}

// A kernel that keeps printing soft-lockup reports is stopped once a CPU
// has been stuck for MaxLockup, although the console never falls silent.
func TestBootStopsLockedUpKernel(t *testing.T) {
	script := "echo LAB-BOOTED\n" +
		"while :; do echo '[ 40.1] watchdog: BUG: soft lockup - CPU#1 stuck for 23s! [x:1]'; sleep 0.1;\n" +
		"echo '[ 99.9] watchdog: BUG: soft lockup - CPU#0 stuck for 120s! [kvm-nx-lpage-re:114]'; sleep 0.1; done\n"
	fake := fakeQEMUBinary(t, script)
	q := QEMU{Binary: fake, Memory: "1G", SMP: 1, Timeout: time.Minute, Idle: time.Minute, MaxLockup: 90 * time.Second}
	b, err := q.Boot(context.Background(), io.Discard)
	if err != nil || !b.Lockup() {
		t.Fatalf("stopped %v err %v", b.Stopped, err)
	}
	if !strings.Contains(b.Stopped.Error(), "120s") {
		t.Errorf("stop reason %q does not name the stall", b.Stopped)
	}
	if n := len(b.Lines); n < 3 || n > 20 {
		t.Errorf("stopped after %d lines, want soon after the third (the first 120s report)", n)
	}
}

// A guest that powers off by itself was not stopped.
func TestBootGuestEnds(t *testing.T) {
	fake := fakeQEMUBinary(t, "echo LAB-DONE\n")
	q := QEMU{Binary: fake, Timeout: time.Minute, Idle: time.Minute, MaxLockup: time.Second}
	b, err := q.Boot(context.Background(), io.Discard)
	if err != nil || b.Stopped != nil || b.Lockup() || len(b.Lines) != 1 {
		t.Fatalf("boot %+v err %v", b, err)
	}
	if f := b.OuterFailure(); f != "" {
		t.Errorf("OuterFailure() = %q for a guest that finished its script", f)
	}
}

// A guest that resets before its script ends (QEMU exits: -no-reboot),
// with no panic on its console, failed: once in CI, the outer guest went
// down this way under 20 nested VMs and the run counted it as tests that
// never finished.
func TestBootGuestResetsEarly(t *testing.T) {
	fake := fakeQEMUBinary(t, "echo LAB-BOOTED\necho LAB-BEGIN e2e.test\n")
	q := QEMU{Binary: fake, Timeout: time.Minute}
	b, err := q.Boot(context.Background(), io.Discard)
	if err != nil || b.Stopped != nil {
		t.Fatalf("boot %+v err %v", b, err)
	}
	if got := b.OuterFailure(); !strings.Contains(got, "reset itself before the end of its script") {
		t.Errorf("OuterFailure() = %q", got)
	}
}

func TestLockupSeconds(t *testing.T) {
	for line, want := range map[string]int{
		"[ 2383.84] watchdog: BUG: soft lockup - CPU#1 stuck for 2217s! [cmd-vmm.test:117]": 2217,
		"watchdog: BUG: soft lockup - CPU#12 stuck for 0s! [a]":                             0,
		"soft lockup - CPU#1 stuck for 99999999999999999999s!":                              -1,
		"rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:":                             -1,
		"": -1,
	} {
		if got := lockupSeconds(line); got != want {
			t.Errorf("lockupSeconds(%q) = %d, want %d", line, got, want)
		}
	}
}

// An outer kernel that panics (QEMU then exits: -no-reboot) is reported
// as an outer failure, which the lab may retry.
func TestBootReportsOuterPanic(t *testing.T) {
	script := "echo LAB-BOOTED\necho '[  124.7] Kernel panic - not syncing: corrupted stack end detected inside scheduler'\n"
	fake := fakeQEMUBinary(t, script)
	q := QEMU{Binary: fake, Timeout: time.Minute}
	b, err := q.Boot(context.Background(), io.Discard)
	if err != nil || b.Stopped != nil {
		t.Fatalf("boot %+v err %v", b, err)
	}
	if got := b.OuterFailure(); !strings.Contains(got, "panicked: Kernel panic - not syncing: corrupted stack") {
		t.Errorf("OuterFailure() = %q", got)
	}
}

// QEMU stops once testwatch has stopped a hung test binary, with the
// header of its report as the reason.
func TestBootStopsAfterStalledTest(t *testing.T) {
	script := "echo LAB-BOOTED\necho LAB-HEARTBEAT every=60s\n" +
		"echo 'LAB-STALL e2e.test silent=900s running=TestHangs'\necho 'LAB-STALL pid 1: init'\n" +
		"echo 'LAB-STALL-END e2e.test exit=2'\nwhile :; do echo LAB-ALIVE; sleep 0.1; done\n"
	fake := fakeQEMUBinary(t, script)
	q := QEMU{Binary: fake, Memory: "1G", SMP: 1, Timeout: time.Minute, Idle: time.Minute}
	b, err := q.Boot(context.Background(), io.Discard)
	if err != nil || !b.Stalled() {
		t.Fatalf("stopped %v err %v", b.Stopped, err)
	}
	if f := b.OuterFailure(); !strings.Contains(f, "e2e.test silent=900s running=TestHangs") {
		t.Errorf("OuterFailure %q does not name the hung test", f)
	}
	if n := len(b.Lines); n > 30 {
		t.Errorf("stopped after %d lines, want soon after LAB-STALL-END", n)
	}
}

// fakeQEMUBinary writes a shell script that stands in for QEMU and
// returns its path.
func fakeQEMUBinary(t *testing.T, script string) string {
	fake := filepath.Join(t.TempDir(), "qemu")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
	return fake
}
