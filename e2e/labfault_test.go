package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/vmmlab/vmm/runresult"
)

// retryLabFault runs again only what failed with one of the lab's known
// faults, up to its tries, and reads each attempt's faults only: a
// tracefs of files, which the attempts write as the outer kernel would.
func TestRetryLabFault(t *testing.T) {
	stuck := result(runresult.Result{Reason: runresult.Interrupted, VCPUs: []runresult.VCPU{{RIP: 0xffffffffc053920c, CR3: 0xbe1b6000, TopTableOutsideRAM: true}}})
	tripled := result(runresult.Result{Reason: runresult.Crashed, Cause: runresult.CauseTripleFault})
	// what the message said before vmm's results were typed: no longer read
	const oldStuck = "vmm: interrupted\n  rip walk: 0xffffffffc053920c: cr3 0xbe1b6000 -> PML4[511] at 0xbe1b6ff8: outside guest RAM"
	const delivery = "vmm-336     (    180) [000] .....    74.423232: kvm_exit: vcpu 0 reason shutdown rip 0xffffffff8102f041 info1 0x0000000000000000 info2 0x0000000000000000 intr_info 0x80000b0e error_code 0x00000010"
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(faultsTrace)), 0o755); err != nil {
		t.Fatal(err)
	}
	tr := &kvmTrace{dir: dir}
	for _, f := range []string{"trace", faultsTrace} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// step is one attempt: the trace lines it leaves, its output, and
	// whether it failed.
	type step struct {
		trace, out string
		failed     bool
	}
	for _, c := range []struct {
		name  string
		tries int
		steps []step
		want  int // attempts made; the result is the last one's index
	}{
		{"the stop report's text alone is no result", 3, []step{{out: oldStuck, failed: true}, {out: "ok"}}, 1},
		{"passes at once", 2, []step{{out: "ok"}}, 1},
		{"a triple fault during event delivery, then passes", 2,
			[]step{{trace: delivery, out: tripled, failed: true}, {out: "ok"}}, 2},
		{"a triple fault the trace does not show as delivery", 2,
			[]step{{out: tripled, failed: true}, {out: "ok"}}, 1},
		// the first attempt's delivery fault is gone from the trace when
		// the second's is read (the trace is emptied before each attempt)
		{"a delivery fault, then a triple fault of its own", 3,
			[]step{{trace: delivery, out: tripled, failed: true}, {out: tripled, failed: true}, {out: "ok"}}, 2},
		{"a known fault every time", 3,
			[]step{{out: stuck, failed: true}, {out: stuck, failed: true}, {out: stuck, failed: true}, {out: "ok"}}, 3},
		// a benign warning every Debian boot in the lab prints
		{"the XSAVE warning and a failure", 3,
			[]step{{out: "XSAVE consistency problem: size 2696 != kernel_size 576\nvmm: exit 1", failed: true}, {out: "ok"}}, 1},
		{"some other failure", 3, []step{{out: "vmm: exit 1", failed: true}, {out: "ok"}}, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := 0
			got := retryLabFault(t, tr, c.name, c.tries, func() (int, string, bool) {
				s := c.steps[n]
				appendTo(t, filepath.Join(dir, faultsTrace), s.trace)
				n++
				return n - 1, s.out, s.failed
			})
			if n != c.want || got != c.want-1 {
				t.Errorf("%d attempts, result of attempt %d; want %d, of the last", n, got+1, c.want)
			}
		})
	}
}

// appendTo adds line to the file at path, as the kernel adds to a trace.
func appendTo(t *testing.T, path, line string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(line + "\n"); err != nil {
		t.Fatal(err)
	}
}

// result is r as vmm prints it with --json, on a line of its own among
// other output.
func result(r runresult.Result) string {
	b, _ := json.Marshal(r)
	return "console line\nvmm: machine ready\n" + string(b) + "\n"
}
