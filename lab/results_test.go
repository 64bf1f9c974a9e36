package lab

import (
	"strings"
	"testing"
)

func TestResultsPass(t *testing.T) {
	evs := events(t, `
booted uptime=5.1
kvm uptime=6.0
begin kvm.test uptime=6.2
run kvm.test TestRealModePortIOAndHLT
pass kvm.test TestRealModePortIOAndHLT
run kvm.test TestGroup
run kvm.test TestGroup/sub
pass kvm.test TestGroup
pass kvm.test TestGroup/sub
pass kvm.test
end kvm.test exit=0 uptime=7.7
done uptime=7.8`)
	r := Results(evs, []string{"kvm.test"}, false)
	if p := r.Problems(); len(p) != 0 {
		t.Fatalf("problems: %q", p)
	}
	if pass, fail := r.Counts(); pass != 3 || fail != 0 {
		t.Fatalf("counts %d/%d", pass, fail)
	}
	if b := r.Binaries[0]; b.Seconds < 1.49 || b.Seconds > 1.51 {
		t.Errorf("seconds %v", b.Seconds)
	}
}

func TestResultsFailures(t *testing.T) {
	cases := map[string]struct {
		events   string
		timedOut bool
		want     string
	}{
		"failed test": {events: "kvm\nbegin a.test\nfail a.test TestX\nend a.test exit=1\ndone", want: "exit status 1"},
		"skip in lab": {events: "kvm\nbegin a.test\nskip a.test TestX\nend a.test\ndone", want: "skipped inside the lab"},
		"crash":       {events: "kvm\nbegin a.test\noutput a.test | panic: boom\nend a.test exit=2\ndone", want: "exit status 2"},
		"no kvm":      {events: "error | no /dev/kvm after loading modules\nbegin a.test\npass a.test TestX\nend a.test\ndone", want: "never appeared"},
		"setup error": {events: "kvm\nerror | cgroup2 set-up failed\nbegin a.test\npass a.test TestX\nend a.test\ndone", want: "the outer guest: cgroup2 set-up failed"},
		"timeout":     {events: "kvm\nbegin a.test\nrun a.test TestX", timedOut: true, want: "timed out"},
		"hung test":   {events: "kvm\nbegin a.test\nrun a.test TestX\npass a.test TestX\nrun a.test TestY", timedOut: true, want: "a.test: never finished (the last test it started: TestY)"},
		"missing":     {events: "kvm\ndone", want: "a.test: never started"},
		"no tests":    {events: "kvm\nbegin a.test\nend a.test\ndone", want: "ran no tests"},
		"cut off":     {events: "kvm\nbegin a.test\npass a.test TestX", want: "did not finish"},
		// a binary that ended once and began again (after a stall) ended
		// only if it ends again
		"began again": {events: "kvm\nbegin a.test\npass a.test TestX\nend a.test exit=2\nbooted\nbegin a.test\ndone", want: "a.test: never finished"},
	}
	for name, c := range cases {
		r := Results(events(t, c.events), []string{"a.test"}, c.timedOut)
		p := strings.Join(r.Problems(), "; ")
		if !strings.Contains(p, c.want) {
			t.Errorf("%s: problems %q, want %q", name, p, c.want)
		}
		if _, fail := r.Counts(); fail == 0 && name != "no kvm" && name != "cut off" && name != "setup error" {
			t.Errorf("%s: counted no failure", name)
		}
	}
}

func TestFilteredRunMayBeEmpty(t *testing.T) {
	r := Results(events(t, "kvm\nbegin a.test\nend a.test\ndone"), []string{"a.test"}, false)
	r.Filtered = true
	if p := r.Problems(); len(p) != 0 {
		t.Fatalf("problems %q", p)
	}
	if _, fail := r.Counts(); fail != 0 {
		t.Fatal("an empty filtered binary counted as a failure")
	}
}

func TestParseKernelDepends(t *testing.T) {
	out := "linux-image-amd64\n  Depends: linux-image-6.1.0-56-amd64\n"
	if p, err := parseKernelDepends([]byte(out)); err != nil || p != "linux-image-6.1.0-56-amd64" {
		t.Fatalf("%q %v", p, err)
	}
	if p, err := parseKernelDepends([]byte("linux-image-6.1.0-56-amd64\n  Depends: kmod\n")); err != nil || p != "" {
		t.Fatalf("versioned: %q %v", p, err)
	}
	if _, err := parseKernelDepends(nil); err == nil {
		t.Fatal("empty output accepted")
	}
}

// A test that failed in a boot that went down and passed when a later
// boot ran it again counts once, as passed.
func TestResultsLastResultCounts(t *testing.T) {
	spec := `booted uptime=1
begin e2e.test uptime=2
pass e2e.test TestA
fail e2e.test TestB
run e2e.test TestC
booted uptime=1
begin e2e.test uptime=2
pass e2e.test TestB
pass e2e.test TestC
end e2e.test exit=0 uptime=4
done uptime=5`
	r := Results(events(t, spec), []string{"e2e.test"}, false)
	if pass, fail := r.Counts(); pass != 3 || fail != 0 {
		t.Errorf("counts %d/%d, want 3/0 (passed %q, failed %q)", pass, fail, r.Binaries[0].Passed, r.Binaries[0].Failed)
	}
	// The other way round: a real failure stands.
	spec = strings.Replace(strings.Replace(spec, "pass e2e.test TestB", "fail e2e.test TestB", 1), "exit=0", "exit=1", 1)
	r = Results(events(t, spec), []string{"e2e.test"}, false)
	if b := r.Binaries[0]; len(b.Failed) != 1 || b.Failed[0] != "TestB" || len(b.Passed) != 2 {
		t.Errorf("passed %q, failed %q; want TestB failed once", b.Passed, b.Failed)
	}
}

// A failed test's last log entry, or its first failed subtest's, is kept
// as the reason, so that the end of the lab's output can say why.
func TestResultsWhy(t *testing.T) {
	spec := `kvm
begin e2e.test
run e2e.test TestA
output e2e.test TestA |     a_lab_test.go:10: attempt 1 of 3: a known fault
output e2e.test TestA |         running it once more
pass e2e.test TestA
run e2e.test TestDocs
run e2e.test TestDocs/one
output e2e.test TestDocs/one |     docs_lab_test.go:72: the command, attempt 1 of 3: a known fault
output e2e.test TestDocs/one |         running it once more
run e2e.test TestDocs/two
output e2e.test TestDocs/two |     docs_lab_test.go:75: printf 'poweroff\n' | vmm boot
output e2e.test TestDocs/two |         exit status 1
output e2e.test TestDocs/two |         guest output line
output e2e.test TestDocs/two |         more output
run e2e.test TestDocs/three
output e2e.test TestDocs/three |     docs_lab_test.go:72: the command, attempt 1 of 3: another fault
output e2e.test TestDocs |     docs_lab_test.go:90: a late log line
output e2e.test TestDocs | --- FAIL: TestDocs (3.00s)
fail e2e.test TestDocs
output e2e.test TestDocs/one |     --- PASS: TestDocs/one (1.00s)
pass e2e.test TestDocs/one
output e2e.test TestDocs/two |     --- FAIL: TestDocs/two (1.00s)
fail e2e.test TestDocs/two
pass e2e.test TestDocs/three
run e2e.test TestC
fail e2e.test TestC
end e2e.test exit=1
done`
	b := Results(events(t, spec), []string{"e2e.test"}, false).Binaries[0]
	want := "docs_lab_test.go:75: printf 'poweroff\\n' | vmm boot | exit status 1 | guest output line"
	if b.Why["TestDocs"] != want {
		t.Errorf("why TestDocs = %q, want %q", b.Why["TestDocs"], want)
	}
	if w, ok := b.Why["TestA"]; ok {
		t.Errorf("a passed test has a reason: %q", w)
	}
	if w, ok := b.Why["TestC"]; ok {
		t.Errorf("a test that logged nothing has a reason: %q", w)
	}
}
