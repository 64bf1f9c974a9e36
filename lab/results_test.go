package lab

import (
	"strings"
	"testing"
)

func TestParsePass(t *testing.T) {
	log := `
LAB-BOOTED uptime=5.1
LAB-KVM ready uptime=6.0 cpu= AMD EPYC
LAB-BEGIN kvm.test uptime=6.2
=== RUN   TestRealModePortIOAndHLT
--- PASS: TestRealModePortIOAndHLT (0.01s)
=== RUN   TestGroup
    --- PASS: TestGroup/sub (0.00s)
--- PASS: TestGroup (0.00s)
PASS

LAB-RESULT kvm.test exit=0 start=6.2 end=7.7
LAB-DONE uptime=7.8`
	r := Parse(strings.Split(log, "\n"), []string{"kvm.test"}, false)
	if p := r.Problems(); len(p) != 0 {
		t.Fatalf("problems: %q", p)
	}
	if pass, fail := r.Counts(); pass != 2 || fail != 0 {
		t.Fatalf("counts %d/%d", pass, fail)
	}
	if b := r.Binaries[0]; b.Seconds < 1.49 || b.Seconds > 1.51 {
		t.Errorf("seconds %v", b.Seconds)
	}
}

func TestParseFailures(t *testing.T) {
	cases := map[string]struct {
		log      string
		timedOut bool
		want     string
	}{
		"failed test": {log: "LAB-KVM ready\nLAB-BEGIN a.test\n--- FAIL: TestX (0.00s)\nLAB-RESULT a.test exit=1 start=1 end=2\nLAB-DONE", want: "exit status 1"},
		"skip in lab": {log: "LAB-KVM ready\nLAB-BEGIN a.test\n--- SKIP: TestX (0.00s)\nLAB-RESULT a.test exit=0 start=1 end=2\nLAB-DONE", want: "skipped inside the lab"},
		"crash":       {log: "LAB-KVM ready\nLAB-BEGIN a.test\npanic: boom\nLAB-RESULT a.test exit=2 start=1 end=2\nLAB-DONE", want: "exit status 2"},
		"no kvm":      {log: "LAB-ERROR no /dev/kvm after loading modules\nLAB-BEGIN a.test\n--- PASS: TestX (0.00s)\nLAB-RESULT a.test exit=0 start=1 end=2\nLAB-DONE", want: "never appeared"},
		"timeout":     {log: "LAB-KVM ready\nLAB-BEGIN a.test\n=== RUN TestX", timedOut: true, want: "timed out"},
		"hung test":   {log: "LAB-KVM ready\nLAB-BEGIN a.test\n=== RUN   TestX\n--- PASS: TestX (0.00s)\n=== RUN   TestY", timedOut: true, want: "a.test: never finished (the last test it started: TestY)"},
		"missing":     {log: "LAB-KVM ready\nLAB-DONE", want: "a.test: never started"},
		"no tests":    {log: "LAB-KVM ready\nLAB-BEGIN a.test\nLAB-RESULT a.test exit=0 start=1 end=2\nLAB-DONE", want: "ran no tests"},
		"cut off":     {log: "LAB-KVM ready\nLAB-BEGIN a.test\n--- PASS: TestX (0.00s)", want: "did not finish"},
	}
	for name, c := range cases {
		r := Parse(strings.Split(c.log, "\n"), []string{"a.test"}, c.timedOut)
		p := strings.Join(r.Problems(), "; ")
		if !strings.Contains(p, c.want) {
			t.Errorf("%s: problems %q, want %q", name, p, c.want)
		}
		if _, fail := r.Counts(); fail == 0 && name != "no kvm" && name != "cut off" {
			t.Errorf("%s: counted no failure", name)
		}
	}
}

func TestFilteredRunMayBeEmpty(t *testing.T) {
	log := "LAB-KVM ready\nLAB-BEGIN a.test\nLAB-RESULT a.test exit=0 start=1 end=2\nLAB-DONE"
	r := Parse(strings.Split(log, "\n"), []string{"a.test"}, false)
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
func TestParseLastResultCounts(t *testing.T) {
	lines := strings.Split(`LAB-BOOTED uptime=1
LAB-BEGIN e2e.test uptime=2
--- PASS: TestA (1.00s)
--- FAIL: TestB (99.00s)
=== RUN   TestC
LAB-BOOTED uptime=1
LAB-BEGIN e2e.test uptime=2
--- PASS: TestB (1.00s)
--- PASS: TestC (1.00s)
LAB-RESULT e2e.test exit=0 start=2 end=4
LAB-DONE uptime=5`, "\n")
	r := Parse(lines, []string{"e2e.test"}, false)
	if pass, fail := r.Counts(); pass != 3 || fail != 0 {
		t.Errorf("counts %d/%d, want 3/0 (passed %q, failed %q)", pass, fail, r.Binaries[0].Passed, r.Binaries[0].Failed)
	}
	// The other way round: a real failure stands.
	lines[7] = "--- FAIL: TestB (1.00s)"
	lines[9] = "LAB-RESULT e2e.test exit=1 start=2 end=4"
	r = Parse(lines, []string{"e2e.test"}, false)
	if b := r.Binaries[0]; len(b.Failed) != 1 || b.Failed[0] != "TestB" || len(b.Passed) != 2 {
		t.Errorf("passed %q, failed %q; want TestB failed once", b.Passed, b.Failed)
	}
}

// A failed test's last log entry, or its first failed subtest's, is kept
// as the reason, so that the end of the lab's output can say why.
func TestParseWhy(t *testing.T) {
	log := `LAB-KVM ready
LAB-BEGIN e2e.test
=== RUN   TestA
    a_lab_test.go:10: attempt 1 of 3: a known fault
        running it once more
--- PASS: TestA (1.00s)
=== RUN   TestDocs
=== RUN   TestDocs/one
    docs_lab_test.go:72: the command, attempt 1 of 3: a known fault
        running it once more
=== RUN   TestDocs/two
    docs_lab_test.go:75: printf 'poweroff\n' | vmm boot
        exit status 1
        guest output line
        more output
=== RUN   TestDocs/three
    docs_lab_test.go:72: the command, attempt 1 of 3: another fault
=== NAME  TestDocs
    docs_lab_test.go:90: a late log line
--- FAIL: TestDocs (3.00s)
    --- PASS: TestDocs/one (1.00s)
    --- FAIL: TestDocs/two (1.00s)
    --- PASS: TestDocs/three (1.00s)
=== RUN   TestC
--- FAIL: TestC (0.00s)
FAIL
LAB-RESULT e2e.test exit=1 start=1 end=2
LAB-DONE`
	b := Parse(strings.Split(log, "\n"), []string{"e2e.test"}, false).Binaries[0]
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
