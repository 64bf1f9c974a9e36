package lab

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// A boot that went down in e2e.test, after two of its tests had ended:
// the next boot skips the binary that finished and the test that passed,
// and runs again the test that failed (perhaps stalled by the outer
// guest's trouble) and the one that was running.
func TestResumeArgs(t *testing.T) {
	lines := strings.Split(`LAB-BOOTED uptime=5
LAB-BEGIN cmd-vmm.test uptime=6
--- PASS: TestKVMInfo (0.02s)
LAB-RESULT cmd-vmm.test exit=0 start=6 end=7
LAB-BEGIN e2e.test uptime=7
=== RUN   TestA
--- PASS: TestA (1.00s)
=== RUN   TestB
    --- PASS: TestB/sub (0.00s)
--- FAIL: TestB (1.00s)
=== RUN   TestC
kvm [1715]: vcpu0, guest rIP: 0xffffffff8100345b Unhandled WRMSR`, "\n")
	got := resumeArgs(lines)
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
	second := strings.Split("LAB-BOOTED uptime=5\nLAB-SKIPPED cmd-vmm.test: it finished in an earlier boot", "\n")
	if got := resumeArgs(append(lines, second...)); got != want {
		t.Errorf("after a second boot that ran nothing: %q", got)
	}
	// The third boot passed TestB and went down in TestC: the fourth
	// skips both.
	third := strings.Split("LAB-BOOTED uptime=5\nLAB-BEGIN e2e.test uptime=6\n--- PASS: TestB (1.00s)\n=== RUN   TestC", "\n")
	all := append(append(append([]string(nil), lines...), second...), third...)
	if got, want := resumeArgs(all), "LAB_DONE_BINARIES=cmd-vmm.test LAB_RESUME_BINARY=e2e.test LAB_RESUME_SKIP=^(TestA|TestB)$"; got != want {
		t.Errorf("after the third boot: %q, want %q", got, want)
	}
	if got := resumeArgs([]string{"LAB-BOOTED uptime=5", "LAB-KVM ready"}); got != "" {
		t.Errorf("nothing began, resumeArgs = %q", got)
	}
}

// Tests whose names do not fit the kernel's command line are an error,
// not a list cut short (which would run tests twice or skip the wrong ones).
func TestResumeCmdlineTooLong(t *testing.T) {
	lines := []string{"LAB-BEGIN e2e.test uptime=1"}
	for i := range 200 {
		lines = append(lines, fmt.Sprintf("--- PASS: TestSomethingWithALongName%d (1.00s)", i))
	}
	if s, err := resumeCmdline("console=ttyS0", lines); err == nil {
		t.Fatalf("a %d-byte command line was accepted", len(s))
	}
}

// bootOuter boots again after the outer guest reset, going on from where
// it stopped, and the outcome holds both boots' lines: e2e.test counts
// the test of the first boot and the one of the second, with no failure.
func TestBootOuterGoesOnAfterReset(t *testing.T) {
	dir := t.TempDir()
	// The fake QEMU: the first boot resets in TestB, the second (its
	// command line carrying the resume words) finishes.
	script := `#!/bin/sh
case "$*" in
*"LAB_RESUME_BINARY=e2e.test LAB_RESUME_SKIP=^(TestA)$"*)
  printf 'LAB-BOOTED uptime=1\nLAB-BEGIN e2e.test uptime=2\n--- PASS: TestB (1.00s)\nLAB-RESULT e2e.test exit=0 start=2 end=3\nLAB-DONE uptime=3\n' ;;
*LAB_RESUME*) echo "unexpected command line: $*" ;;
*)
  printf 'LAB-BOOTED uptime=1\nLAB-KVM ready uptime=1\nLAB-BEGIN e2e.test uptime=2\n--- PASS: TestA (1.00s)\n=== RUN   TestB\n' ;;
esac
`
	if err := os.WriteFile(filepath.Join(dir, "qemu-system-x86_64"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	o := Options{Work: t.TempDir(), Retries: 1, Timeout: time.Hour, Log: io.Discard}
	out, err := bootOuter(context.Background(), o, Kernel{}, "image")
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Discarded) != 1 || !strings.Contains(out.Discarded[0], "reset itself") {
		t.Errorf("discarded %q", out.Discarded)
	}
	r := Parse(out.Boot.Lines, []string{"e2e.test"}, false)
	if p := r.Problems(); len(p) != 0 {
		t.Fatalf("problems: %q\nlines: %q", p, out.Boot.Lines)
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
	body := "#!/bin/sh\necho x >> " + boots + "\n" + script
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
*"LAB_RESUME_SKIP=^(TestA|TestB|TestC)$"*) printf 'LAB-BOOTED uptime=1\nLAB-BEGIN e2e.test uptime=2\n--- PASS: TestD (1.00s)\nLAB-RESULT e2e.test exit=0 start=2 end=3\nLAB-DONE uptime=3\n' ;;
*"LAB_RESUME_SKIP=^(TestA|TestB)$"*) printf 'LAB-BOOTED uptime=1\nLAB-BEGIN e2e.test uptime=2\n--- PASS: TestC (1.00s)\n' ;;
*"LAB_RESUME_SKIP=^(TestA)$"*) printf 'LAB-BOOTED uptime=1\nLAB-BEGIN e2e.test uptime=2\n--- PASS: TestB (1.00s)\n' ;;
*) printf 'LAB-BOOTED uptime=1\nLAB-KVM ready uptime=1\nLAB-BEGIN e2e.test uptime=2\n--- PASS: TestA (1.00s)\n' ;;
esac
`)
	o := Options{Work: t.TempDir(), Retries: 3, Timeout: time.Hour, Log: io.Discard}
	out, err := bootOuter(context.Background(), o, Kernel{}, "image")
	if err != nil {
		t.Fatal(err)
	}
	if n := countBoots(t, boots); n != 4 || len(out.Discarded) != 3 {
		t.Errorf("%d boots, %d discarded; want 4 and 3", n, len(out.Discarded))
	}
	r := Parse(out.Boot.Lines, []string{"e2e.test"}, false)
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
// somewhere, although go test prints no "--- PASS" line for them before
// the parent ends: CI lost a run when such a boot (five subtests of
// TestDocsCommands passed) counted as one in which nothing ended.
func TestBootOuterGoesOnWhileTestsEnd(t *testing.T) {
	for _, c := range []struct {
		name, console string
		boots         int
	}{
		{"nothing ends", `=== RUN   TestA\n`, 2},
		{"subtests end", `=== RUN   TestDocs\n=== RUN   TestDocs/a.md:1\n=== RUN   TestDocs/b.md:2\n`, 4}, // --retries 3
	} {
		t.Run(c.name, func(t *testing.T) {
			boots := fakeQEMU(t, `printf 'LAB-BOOTED uptime=1\nLAB-BEGIN e2e.test uptime=2\n`+c.console+`'`)
			o := Options{Work: t.TempDir(), Retries: 3, Timeout: time.Hour, Log: io.Discard}
			if _, err := bootOuter(context.Background(), o, Kernel{}, "image"); err != nil {
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
		lines string
		want  int
	}{
		{"", 0},
		{"LAB-BEGIN e2e.test\n=== RUN   TestA", 0},
		{"=== RUN   TestA\n=== RUN   TestA/sub\n=== RUN   TestA/sub/deeper", 0},
		{"=== RUN   TestA\n=== RUN   TestA/one\n=== RUN   TestA/two", 1},
		{"=== RUN   TestA\n--- PASS: TestA (1.00s)\n=== RUN   TestB", 2},
		{"=== RUN   TestA/x\n=== RUN   TestA/x", 0},
		// A binary's last test and the next binary's first are two runs.
		{"LAB-BEGIN a.test\n=== RUN   TestA\nLAB-BEGIN b.test\n=== RUN   TestB", 0},
		{"LAB-BEGIN a.test\n=== RUN   TestA\n--- PASS: TestA (1.00s)\nLAB-RESULT a.test exit=0 start=1 end=2", 2},
	} {
		if got := testsEnded(strings.Split(c.lines, "\n")); got != c.want {
			t.Errorf("testsEnded(%q) = %d, want %d", c.lines, got, c.want)
		}
	}
}

// No boot starts when less than minBoot of the total time is left.
func TestBootOuterWithinTotalTimeout(t *testing.T) {
	boots := fakeQEMU(t, `printf 'LAB-BOOTED uptime=1\nLAB-BEGIN e2e.test uptime=2\n--- PASS: TestA (1.00s)\n'`)
	o := Options{Work: t.TempDir(), Retries: 3, Timeout: time.Hour, TotalTimeout: minBoot / 2, Log: io.Discard}
	out, err := bootOuter(context.Background(), o, Kernel{}, "image")
	if err != nil {
		t.Fatal(err)
	}
	if n := countBoots(t, boots); n != 1 || out.Boot.OuterFailure() == "" {
		t.Errorf("%d boots (want 1), failure %q", n, out.Boot.OuterFailure())
	}
}

// A binary testwatch stopped because a test hung is not done, although
// its LAB-RESULT line may have reached the console before QEMU stopped:
// the next boot runs the hung test again and the ones after it.
func TestResumeArgsAfterStall(t *testing.T) {
	lines := strings.Split(`LAB-BOOTED uptime=5
LAB-BEGIN e2e.test uptime=7
=== RUN   TestA
--- PASS: TestA (1.00s)
=== RUN   TestHangs
LAB-STALL e2e.test silent=900s running=TestHangs
LAB-STALL-END e2e.test exit=2
LAB-RESULT e2e.test exit=2 start=7 end=1000`, "\n")
	want := "LAB_RESUME_BINARY=e2e.test LAB_RESUME_SKIP=^(TestA)$"
	if got := resumeArgs(lines); got != want {
		t.Errorf("resumeArgs = %q, want %q", got, want)
	}
	// In the next boot the binary ends by itself: it is done.
	next := strings.Split("LAB-BOOTED uptime=5\nLAB-BEGIN e2e.test uptime=6\n--- PASS: TestHangs (1.00s)\nLAB-RESULT e2e.test exit=0 start=6 end=9\nLAB-BEGIN kvm.test uptime=9", "\n")
	if got, want := resumeArgs(append(lines, next...)), "LAB_DONE_BINARIES=e2e.test LAB_RESUME_BINARY=kvm.test"; got != want {
		t.Errorf("after the next boot: %q, want %q", got, want)
	}
}
