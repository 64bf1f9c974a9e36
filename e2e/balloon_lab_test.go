package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/vmmlab/vmm/bench"
	"github.com/vmmlab/vmm/internal/kvmtest"
	"github.com/vmmlab/vmm/lab/labenv"
)

// guestRSS is the host memory behind process pid's guest RAM (its
// mappings at least as large as the guest's memory), in MiB.
func guestRSS(t *testing.T, pid int, guestMiB uint64) float64 {
	t.Helper()
	ms, err := bench.ReadSmaps(pid)
	if err != nil {
		t.Fatal(err)
	}
	guest, _ := bench.SplitGuest(ms, guestMiB<<20)
	return float64(bench.Sum(guest).Rss) / (1 << 20)
}

// A guest that touches 200 MiB and frees it gives the memory back to the
// host with the balloon's free page reporting (host RSS back within 10%
// of where it was before), and keeps it without the balloon.
//
// A run whose guest hit one of the nested lab's known faults (labFault;
// guests touching fresh memory under load do) is said in the log and run
// again (up to labTries runs).
func TestBalloonFreePageReporting(t *testing.T) {
	l := kernelOnly(t)
	micro := kvmtest.File(t, labenv.EnvMicroKernel)
	image := kvmtest.File(t, labenv.EnvWorkloadInitramfs)
	tr := startKVMTrace(t)
	for _, balloon := range []string{"on", "off"} {
		r := retryLabFault(t, tr, "--balloon "+balloon, labTries, func() (touchRun, string, bool) {
			r := touchAndFree(t, l.vmm, micro, image, balloon)
			return r, r.out, r.ended != ""
		})
		if r.ended != "" {
			t.Fatalf("--balloon %s: the guest did not print %s (vmm ended, or was stopped after 3 minutes)\n%s", balloon, r.ended, r.out)
		}
		t.Logf("--balloon %s: guest RAM on the host %.1f MiB before, %.1f touched, %.1f after freeing", balloon, r.before, r.touched, r.after)
		if r.touched < r.before+150 {
			t.Fatalf("--balloon %s: touching 200 MiB moved the host RSS from %.1f to %.1f MiB only\n%s", balloon, r.before, r.touched, r.out)
		}
		if balloon == "on" {
			// vmm's --json result counts what the balloon got back
			var res struct {
				Devices map[string]map[string]uint64 `json:"devices"`
			}
			for _, line := range strings.Split(r.out, "\n") {
				if strings.HasPrefix(line, `{"reason"`) {
					json.Unmarshal([]byte(line), &res)
				}
			}
			got := res.Devices["virtio-balloon"]
			t.Logf("balloon counters: %v", got)
			if got["reported_bytes"] < 150<<20 || got["discarded_bytes"] < 150<<20 {
				t.Errorf("vmm reports %v for the balloon, want at least 150 MiB reported and discarded", got)
			}
			// The statistics queue: vmm asks every 2 s, the guest answers
			// with its memory (384M less what its kernel keeps).
			if total := got["guest_total_bytes"]; total < 200<<20 || total > 384<<20 {
				t.Errorf("the guest's statistics say %d bytes of total memory, want 200-384 MiB", total)
			}
		}
		switch {
		case balloon == "on" && r.after > r.before*1.1:
			t.Errorf("with free page reporting the host RSS is %.1f MiB after the guest freed 200 MiB, more than 10%% above the %.1f before\n%s", r.after, r.before, r.out)
		case balloon == "off" && r.after < r.touched-20:
			t.Errorf("without the balloon the host RSS fell from %.1f to %.1f MiB: where did it go?", r.touched, r.after)
		}
	}
}

// touchRun is one vmm run of TestBalloonFreePageReporting: its guest RAM
// on the host (MiB) before the guest touched 200 MiB, once touched, and
// after it freed them; its output; and, when vmm ended before the guest
// got that far, the marker it was waiting for.
type touchRun struct {
	before, touched, after float64
	out                    string
	ended                  string
}

func touchAndFree(t *testing.T, vmm, kernel, image, balloon string) touchRun {
	t.Helper()
	p := startVMM(t, vmm, nil, "boot", "--json", "--kernel", kernel, "--initrd", image, "--mem", "384M", "--virtio", "mmio", "--balloon", balloon,
		"--cmdline", testWorkload("touchfree", "200"))
	var r touchRun
	// waitFor says whether the guest printed marker within 3 minutes,
	// before vmm ended.
	waitFor := func(marker string) bool {
		if p.waitFor(marker, 3*time.Minute) {
			return true
		}
		r.out, r.ended = p.output(), marker
		return false
	}
	pid := p.cmd.Process.Pid
	if !waitFor("TOUCH-START") {
		return r
	}
	r.before = guestRSS(t, pid, 384)
	if !waitFor("TOUCHED") {
		return r
	}
	r.touched = guestRSS(t, pid, 384)
	if !waitFor("FREED") {
		return r
	}
	r.after = guestRSS(t, pid, 384)
	// Free page reporting waits 2 s before it reports, and the lab is
	// slow: give it up to a minute.
	for deadline := time.Now().Add(time.Minute); balloon == "on" && r.after > r.before*1.1 && time.Now().Before(deadline); time.Sleep(time.Second) {
		r.after = guestRSS(t, pid, 384)
	}
	p.stop() // SIGTERM: vmm's last line says which devices failed, if any
	r.out = p.output()
	return r
}
