package lab

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// A boot that went down in e2e.test, after two of its tests had ended:
// the next boot skips the binary that finished and the test that passed,
// and runs again the test that failed (perhaps stalled by the outer
// guest's trouble) and the one that was running.
func TestResumeArgs(t *testing.T) {
	first := events(t, `booted uptime=5
begin cmd-vmm.test uptime=6
pass cmd-vmm.test TestKVMInfo
end cmd-vmm.test exit=0 uptime=7
begin e2e.test uptime=7
run e2e.test TestA
pass e2e.test TestA
run e2e.test TestB
pass e2e.test TestB/sub
fail e2e.test TestB
run e2e.test TestC
output e2e.test TestC | kvm [1715]: vcpu0, guest rIP: 0xffffffff8100345b Unhandled WRMSR`)
	got := resumeArgs(first)
	want := "LAB_DONE_BINARIES=cmd-vmm.test LAB_RESUME_BINARY=e2e.test LAB_RESUME_SKIP=^(TestA)$"
	if got != want {
		t.Fatalf("resumeArgs =\n%q, want\n%q", got, want)
	}
	skip := regexp.MustCompile(strings.TrimPrefix(strings.Fields(got)[2], "LAB_RESUME_SKIP="))
	for name, skipped := range map[string]bool{"TestA": true, "TestB": false, "TestC": false, "TestAB": false} {
		if skip.MatchString(name) != skipped {
			t.Errorf("skip matches %s: %v, want %v", name, !skipped, skipped)
		}
	}

	// The second boot went down too, before it ran e2e.test again: the
	// third still skips what the first finished.
	second := events(t, "booted uptime=5\nskipped cmd-vmm.test")
	if got := resumeArgs(slices.Concat(first, second)); got != want {
		t.Errorf("after a second boot that ran nothing: %q", got)
	}
	// The third boot passed TestB and went down in TestC: the fourth
	// skips both.
	third := events(t, "booted uptime=5\nbegin e2e.test uptime=6\npass e2e.test TestB\nrun e2e.test TestC")
	if got, want := resumeArgs(slices.Concat(first, second, third)), "LAB_DONE_BINARIES=cmd-vmm.test LAB_RESUME_BINARY=e2e.test LAB_RESUME_SKIP=^(TestA|TestB)$"; got != want {
		t.Errorf("after the third boot: %q, want %q", got, want)
	}
	if got := resumeArgs(events(t, "booted uptime=5\nkvm")); got != "" {
		t.Errorf("nothing began, resumeArgs = %q", got)
	}
}

// Tests whose names do not fit the kernel's command line are an error,
// not a list cut short (which would run tests twice or skip the wrong ones).
func TestResumeCmdlineTooLong(t *testing.T) {
	spec := "begin e2e.test uptime=1\n"
	for i := range 200 {
		spec += fmt.Sprintf("pass e2e.test TestSomethingWithALongName%d\n", i)
	}
	if s, err := resumeCmdline("console=ttyS0", events(t, spec)); err == nil {
		t.Fatalf("a %d-byte command line was accepted", len(s))
	}
}

// bootOuter boots again after the outer guest reset, going on from where
// it stopped, and the outcome holds both boots' events: e2e.test counts
// the test of the first boot and the one of the second, with no failure.
func TestBootOuterGoesOnAfterReset(t *testing.T) {
	// The fake QEMU: the first boot resets in TestB, the second (its
	// command line carrying the resume words) finishes.
	fakeQEMU(t, `case "$*" in
*"LAB_RESUME_BINARY=e2e.test LAB_RESUME_SKIP=^(TestA)$"*)
`+eventScript(t, "booted uptime=1\nbegin e2e.test uptime=2\npass e2e.test TestB\nend e2e.test uptime=3\ndone uptime=3")+` ;;
*LAB_RESUME*) echo "unexpected command line: $*" ;;
*)
`+eventScript(t, "booted uptime=1\nkvm uptime=1\nbegin e2e.test uptime=2\npass e2e.test TestA\nrun e2e.test TestB")+` ;;
esac
`)
	o := Options{Work: t.TempDir(), Retries: 1, Timeout: time.Hour, Log: io.Discard}
	out, err := bootOuter(context.Background(), o, Kernel{}, "image", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Discarded) != 1 || !strings.Contains(out.Discarded[0], "reset itself") {
		t.Errorf("discarded %q", out.Discarded)
	}
	r := Results(out.Boot.Events, []string{"e2e.test"}, false)
	if p := r.Problems(); len(p) != 0 {
		t.Fatalf("problems: %q\nevents: %+v", p, out.Boot.Events)
	}
	if pass, fail := r.Counts(); pass != 2 || fail != 0 {
		t.Errorf("counts %d/%d, want 2/0", pass, fail)
	}
}

// fakeQEMU puts a qemu-system-x86_64 on PATH that counts its boots in
// the file it returns and runs script.
func fakeQEMU(t *testing.T, script string) (boots string) {
	dir := t.TempDir()
	boots = filepath.Join(dir, "boots")
	body := "#!/bin/sh\necho x >> " + boots + "\n" + findEvents + script
	if err := os.WriteFile(filepath.Join(dir, "qemu-system-x86_64"), []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return boots
}

func countBoots(t *testing.T, boots string) int {
	b, err := os.ReadFile(boots)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "x")
}

// An outer guest that goes down three times, each time after one more
// test: with --retries 3 the fourth boot finishes, and every test counts
// once.
func TestBootOuterGoesOnThreeTimes(t *testing.T) {
	boots := fakeQEMU(t, `case "$*" in
*"LAB_RESUME_SKIP=^(TestA|TestB|TestC)$"*)
`+eventScript(t, "booted\nbegin e2e.test\npass e2e.test TestD\nend e2e.test\ndone")+` ;;
*"LAB_RESUME_SKIP=^(TestA|TestB)$"*)
`+eventScript(t, "booted\nbegin e2e.test\npass e2e.test TestC")+` ;;
*"LAB_RESUME_SKIP=^(TestA)$"*)
`+eventScript(t, "booted\nbegin e2e.test\npass e2e.test TestB")+` ;;
*)
`+eventScript(t, "booted\nkvm\nbegin e2e.test\npass e2e.test TestA")+` ;;
esac
`)
	o := Options{Work: t.TempDir(), Retries: 3, Timeout: time.Hour, Log: io.Discard}
	out, err := bootOuter(context.Background(), o, Kernel{}, "image", nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := countBoots(t, boots); n != 4 || len(out.Discarded) != 3 {
		t.Errorf("%d boots, %d discarded; want 4 and 3", n, len(out.Discarded))
	}
	r := Results(out.Boot.Events, []string{"e2e.test"}, false)
	if p := r.Problems(); len(p) != 0 {
		t.Fatalf("problems: %q", p)
	}
	if pass, fail := r.Counts(); pass != 4 || fail != 0 {
		t.Errorf("counts %d/%d, want 4/0", pass, fail)
	}
}

// A test run boots the outer guest again only while it gets somewhere.
// A boot that goes down before any test ends is booted again once more,
// not up to --retries: two such boots in a row end the run. A boot that
// goes down inside a long test after some of its subtests ended got
// somewhere, although go test reports no subtest's result before the
// parent ends: CI lost a run when such a boot (five subtests of
// TestDocsCommands passed) counted as one in which nothing ended.
func TestBootOuterGoesOnWhileTestsEnd(t *testing.T) {
	for _, c := range []struct {
		name, events string
		boots        int
	}{
		{"nothing ends", "run e2e.test TestA", 2},
		{"subtests end", "run e2e.test TestDocs\nrun e2e.test TestDocs/a.md:1\nrun e2e.test TestDocs/b.md:2", 4}, // --retries 3
	} {
		t.Run(c.name, func(t *testing.T) {
			boots := fakeQEMU(t, eventScript(t, "booted\nbegin e2e.test\n"+c.events))
			o := Options{Work: t.TempDir(), Retries: 3, Timeout: time.Hour, Log: io.Discard}
			if _, err := bootOuter(context.Background(), o, Kernel{}, "image", nil); err != nil {
				t.Fatal(err)
			}
			if n := countBoots(t, boots); n != c.boots {
				t.Errorf("%d boots, want %d", n, c.boots)
			}
		})
	}
}

func TestTestsEnded(t *testing.T) {
	for _, c := range []struct {
		events string
		want   int
	}{
		{"", 0},
		{"begin e2e.test\nrun e2e.test TestA", 0},
		{"run a.test TestA\nrun a.test TestA/sub\nrun a.test TestA/sub/deeper", 0},
		{"run a.test TestA\nrun a.test TestA/one\nrun a.test TestA/two", 1},
		{"run a.test TestA\npass a.test TestA\nrun a.test TestB", 2},
		{"run a.test TestA/x\nrun a.test TestA/x", 0},
		// A binary's last test and the next binary's first are two runs.
		{"begin a.test\nrun a.test TestA\nbegin b.test\nrun b.test TestB", 0},
		{"begin a.test\nrun a.test TestA\npass a.test TestA\nend a.test", 2},
		// the binary's own end (test2json's pass with no test) is not a test's
		{"begin a.test\npass a.test", 0},
	} {
		if got := testsEnded(events(t, c.events)); got != c.want {
			t.Errorf("testsEnded(%q) = %d, want %d", c.events, got, c.want)
		}
	}
}

// No boot starts when less than minBoot of the total time is left.
func TestBootOuterWithinTotalTimeout(t *testing.T) {
	boots := fakeQEMU(t, eventScript(t, "booted\nbegin e2e.test\npass e2e.test TestA"))
	o := Options{Work: t.TempDir(), Retries: 3, Timeout: time.Hour, TotalTimeout: minBoot / 2, Log: io.Discard}
	out, err := bootOuter(context.Background(), o, Kernel{}, "image", nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := countBoots(t, boots); n != 1 || out.Boot.OuterFailure() == "" {
		t.Errorf("%d boots (want 1), failure %q", n, out.Boot.OuterFailure())
	}
}

// A binary testwatch stopped because a test hung is not done, although
// its end may have reached the events before QEMU stopped: the next boot
// runs the hung test again and the ones after it.
func TestResumeArgsAfterStall(t *testing.T) {
	first := events(t, `booted uptime=5
begin e2e.test uptime=7
run e2e.test TestA
pass e2e.test TestA
run e2e.test TestHangs
stall e2e.test TestHangs seconds=900 exit=2
end e2e.test exit=2 uptime=1000`)
	want := "LAB_RESUME_BINARY=e2e.test LAB_RESUME_SKIP=^(TestA)$"
	if got := resumeArgs(first); got != want {
		t.Errorf("resumeArgs = %q, want %q", got, want)
	}
	// In the next boot the binary ends by itself: it is done.
	next := events(t, "booted uptime=5\nbegin e2e.test uptime=6\npass e2e.test TestHangs\nend e2e.test uptime=9\nbegin kvm.test uptime=9")
	if got, want := resumeArgs(slices.Concat(first, next)), "LAB_DONE_BINARIES=e2e.test LAB_RESUME_BINARY=kvm.test"; got != want {
		t.Errorf("after the next boot: %q, want %q", got, want)
	}
}
