package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmmlab/vmm/api/apiclient"
	"github.com/vmmlab/vmm/internal/kvmtest"
	"github.com/vmmlab/vmm/lab/labenv"
	"github.com/vmmlab/vmm/runresult"
)

// A restore with --working-set record writes the pages its guest touched
// into the snapshot when told through the control API; the next restore
// reads them before its vCPUs run and takes fewer host page faults while
// the guest runs than the recording one did. A corrupt working set is
// ignored with a warning, and the restore goes on lazily.
func TestWorkingSetPrefetch(t *testing.T) {
	l := kernelOnly(t)
	tr := startKVMTrace(t)
	micro := kvmtest.File(t, labenv.EnvMicroKernel)
	image := kvmtest.File(t, labenv.EnvWorkloadInitramfs)
	dir := t.TempDir()
	snap, sock := filepath.Join(dir, "snap"), filepath.Join(dir, "api.sock")
	startRetried(t, tr, l.vmm, nil, func(p *vmmProc) bool { return p.exits(4*time.Minute) && p.err == nil },
		"boot", "--kernel", micro, "--virtio", "mmio", "--initrd", image, "--mem", "128M", "--snapshot-on-ready", snap,
		"--cmdline", testWorkload("count", "200"))

	// restore runs one restore to its third COUNT line and then during
	// (which says whether it did its part), stops it, and returns its
	// result and time to that line. A restore that ended in one of the
	// lab's known faults before during was done runs again.
	restore := func(name string, during func(*vmmProc) bool, args ...string) (runresult.Result, time.Duration) {
		t.Helper()
		var ready time.Duration
		p := startRetried(t, tr, l.vmm, nil, func(p *vmmProc) bool {
			ready = p.waitCountOrZero(3, 3*time.Minute)
			return ready != 0 && (during == nil || during(p))
		}, append([]string{"restore", snap, "--json"}, args...)...)
		p.stop()
		rs := runresult.Find([]byte(p.stderr.String()))
		if len(rs) == 0 || rs[len(rs)-1].WorkingSet == nil {
			t.Fatalf("%s: no working set in its result: %s", name, p.stderr.String())
		}
		r := rs[len(rs)-1]
		t.Logf("%s: third COUNT line after %v; working set %+v; %d host page faults while it ran; setup steps %v",
			name, ready.Round(time.Millisecond), *r.WorkingSet, r.RunFaults, r.Steps)
		return r, ready
	}
	var recorded uint64
	first, lazy := restore("recording restore", func(*vmmProc) bool {
		// An earlier attempt that ended in a lab fault may have written
		// its working set as it stopped; this one records afresh.
		if err := os.Remove(filepath.Join(snap, "working-set")); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		info, err := apiclient.New(sock, time.Minute).RecordWorkingSet()
		if err != nil || info.Pages == 0 {
			t.Logf("PUT /vm/working-set: %+v, %v", info, err)
			return false
		}
		recorded = info.Pages
		if _, err := apiclient.New(sock, time.Minute).RecordWorkingSet(); err == nil {
			t.Error("a second PUT /vm/working-set wrote the working set again")
		}
		return true
	}, "--working-set", "record", "--api-sock", sock)
	if first.WorkingSet.Recorded != recorded {
		t.Errorf("the result says %d pages recorded, the API said %d", first.WorkingSet.Recorded, recorded)
	}
	second, eager := restore("prefetching restore", nil)
	if second.WorkingSet.Mode != "on" || second.WorkingSet.Pages != recorded || second.WorkingSet.Problem != "" {
		t.Errorf("the second restore did not prefetch the %d recorded pages: %+v", recorded, *second.WorkingSet)
	}
	if second.RunFaults >= first.RunFaults {
		t.Errorf("the prefetching restore took %d host page faults while it ran, the lazy one %d: want fewer", second.RunFaults, first.RunFaults)
	}
	t.Logf("third COUNT line: prefetching ÷ lazy restore %.2f× (lab time); host faults while running %d against %d",
		float64(eager)/float64(lazy), second.RunFaults, first.RunFaults)

	if err := os.WriteFile(filepath.Join(snap, "working-set"), []byte("vmm-working-set 1\n99999999 5 r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bad, _ := restore("restore with a corrupt working set", nil)
	if bad.WorkingSet.Pages != 0 || !strings.Contains(bad.WorkingSet.Problem, "beyond") {
		t.Errorf("a working set naming pages beyond guest RAM: %+v", *bad.WorkingSet)
	}
}
