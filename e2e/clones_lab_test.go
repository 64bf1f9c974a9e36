package e2e

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vmmlab/vmm/guestinit"
	"github.com/vmmlab/vmm/internal/kvmtest"
	"github.com/vmmlab/vmm/lab/labenv"
	"github.com/vmmlab/vmm/runresult"
)

// cloneCount is how many clones of one snapshot TestThirtyClonesAtOnce
// runs together.
const cloneCount = 30

// Thirty clones of one snapshot (the minimal kernel, virtio-mmio, a NIC)
// restored at once, each in a network namespace of its own: every one
// answers over TCP with its count, which goes on from the snapshot's. A
// clone lost to one of the nested lab's known faults is said in the log
// and restored again, once.
func TestThirtyClonesAtOnce(t *testing.T) {
	l := kernelOnly(t)
	tr := startKVMTrace(t)
	micro := kvmtest.File(t, labenv.EnvMicroKernel)
	image := kvmtest.File(t, labenv.EnvWorkloadInitramfs)
	snap := filepath.Join(t.TempDir(), "snap")
	coldNet := newGuestNet(t, "vmmcl")
	cold := startRetried(t, tr, l.vmm, &coldNet, func(p *vmmProc) bool { return p.exits(4*time.Minute) && p.err == nil },
		"boot", "--kernel", micro, "--virtio", "mmio", "--initrd", image, "--mem", "96M", "--net", "fd=3", "--snapshot-on-ready", snap,
		"--cmdline", withTask(guestinit.Task{Run: "/bin/testworkload", Args: []string{"count", "5000"},
			IP: netip.MustParsePrefix(guestAddr + "/24"), GW: netip.MustParseAddr(hostAddr)}))
	if cold.err != nil {
		t.Fatalf("the snapshot: %s", cold.tail())
	}
	nets := make([]guestNet, cloneCount)
	for i := range nets {
		nets[i] = newGuestNet(t, fmt.Sprintf("vmmcl%d", i))
	}
	clones := make([]*vmmProc, cloneCount)
	answers := make([]string, cloneCount)
	restore := func(i int) {
		clones[i] = startVMM(t, l.vmm, &nets[i], "restore", snap, "--net", "fd=3", "--json")
		answers[i] = answerWithin(nets[i], clones[i], 5*time.Minute)
	}
	start := time.Now()
	var wg sync.WaitGroup
	for i := range clones {
		wg.Add(1)
		go func() { defer wg.Done(); restore(i) }()
	}
	wg.Wait()
	t.Logf("%d clones restored at once, all but the failed ones answering after %v (lab time)", cloneCount, time.Since(start).Round(time.Second))
	for i, c := range clones {
		if strings.HasPrefix(answers[i], "count ") {
			continue
		}
		c.stop()
		if fault := cloneFault(tr, c); fault != "" {
			t.Logf("clone %d: %s\nrestoring it again", i, fault)
			restore(i)
		}
	}
	var pss int64
	for i, c := range clones {
		if !strings.HasPrefix(answers[i], "count ") {
			t.Errorf("clone %d does not answer over TCP (%q): %s", i, answers[i], c.tail())
			continue
		}
		pss += c.pssKiB()
	}
	t.Logf("%d clones answering, PSS %d KiB each on average", cloneCount, pss/cloneCount)
	for i, c := range clones {
		c.stop()
		if !strings.Contains(c.stderr.String(), `"restored":true`) {
			t.Errorf("clone %d: its --json result does not say it was restored: %s", i, c.stderr.String())
		}
	}
}

// answerWithin asks the guest behind n for / until it answers with its
// count, c ends, or limit passes; it returns the last answer.
func answerWithin(n guestNet, c *vmmProc, limit time.Duration) string {
	var page string
	for deadline := time.Now().Add(limit); time.Now().Before(deadline) && !c.exits(0); time.Sleep(time.Second) {
		if p, err := n.get("/"); err == nil {
			if page = p; strings.HasPrefix(p, "count ") {
				return p
			}
		}
	}
	return page
}

// cloneFault names the nested lab's known fault a stopped clone ended in
// ("" for none): a triple fault counts when the lab's faults trace shows
// its CPU delivering an event, as in TestTwentyVMsAtOnce.
func cloneFault(tr *kvmTrace, c *vmmProc) string {
	out := c.stderr.String()
	if endedAs([]byte(out), func(r runresult.Result) bool { return r.Cause == runresult.CauseTripleFault }) {
		if faults := tr.faultsOf(c.cmd.Process.Pid); tripleFaultKind(faults) == "delivery" {
			return kindText["delivery"] + ":\n" + faults
		}
		return ""
	}
	return resultFault(out)
}
