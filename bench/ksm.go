package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/vmmlab/vmm/bench/results"
	"github.com/vmmlab/vmm/internal/ksm"
)

// ksmTarget is vm-ksm (or vm-lean): the vm target with guest RAM offered
// to the host's same-page merging (vmm boot --ksm, which also keeps guest
// RAM off huge pages). Its density run switches the host's ksmd on for its
// duration and waits for merging to settle before it measures.
type ksmTarget struct {
	*vmmTarget
	// settleLimit bounds each wait for merging to settle.
	settleLimit time.Duration
}

// ksmCheckpoint is the instance count at which a vm-ksm density run also
// waits for merging and measures (ksmd is slow under emulation: a run
// that gets far may not settle at its end).
const ksmCheckpoint = 20

// ksmPace is how fast ksmd scans during a vm-ksm density run: ten times
// the kernel's default pages per wake-up.
var ksmPace = ksm.Settings{PagesToScan: 1000, SleepMillisecs: 20}

func newVMMKSM(a Assets) Target { return newMerging(a, results.TargetVMKSM, "--ksm") }

// newVMMLean is vm-lean: every memory mechanism that paid off in the
// lab's runs together, same-page merging and the balloon's free page
// reporting (the guest hands back what it frees).
func newVMMLean(a Assets) Target {
	return newMerging(a, results.TargetVMLean, "--ksm", "--balloon", "on")
}

// newMerging is a vm target with extra boot flags whose density runs
// switch the host's KSM on.
func newMerging(a Assets, name string, extra ...string) Target {
	return &ksmTarget{vmmTarget: &vmmTarget{name: name, kernel: a.MicroKernel, transport: "mmio", initrd: "none",
		root: diskRoot(), extra: extra, a: a}, settleLimit: 5 * time.Minute}
}

func (t *ksmTarget) Check() error {
	if err := ksm.Available(); err != nil {
		return err
	}
	return t.vmmTarget.Check()
}

// densityBegin switches ksmd on; end puts the host's settings back.
func (t *ksmTarget) densityBegin() (end func() error, err error) {
	return ksm.Enable(ksmPace)
}

// densitySettle waits for merging to settle with live up, and says what
// it merged; drop is the host's MemAvailable drop now.
func (t *ksmTarget) densitySettle(ctx context.Context, live []*Instance, since time.Duration, drop func() int64) results.MergingPoint {
	p := results.MergingPoint{N: len(live), DropBefore: drop()}
	start := time.Now()
	st, ok, err := ksm.Settle(ctx, t.settleLimit, time.Second)
	p.WaitS, p.Settled = time.Since(start).Seconds(), ok && err == nil
	p.PagesShared, p.PagesSharing = st.PagesShared, st.PagesSharing
	if n := int64(len(live)); n > 0 {
		p.SavedPer = st.Saved() / n
		var merging int64
		for _, in := range live {
			for _, pid := range in.PIDs() {
				if m, err := ksm.ProcessMerging(pid); err == nil {
					merging += m
				}
			}
		}
		p.MergingPer = merging * ksm.PageSize / n
	}
	if cpu, err := ksm.DaemonCPU(); err == nil {
		p.KsmdCPUS = (cpu - since).Seconds()
	}
	p.DropAfter = drop()
	return p
}

// mergingHost is a target whose density run changes a host setting for
// its duration and waits for it before it measures (vm-ksm).
type mergingHost interface {
	densityBegin() (end func() error, err error)
	densitySettle(ctx context.Context, live []*Instance, since time.Duration, drop func() int64) results.MergingPoint
}

// mergingRun is the state of a mergingHost's density run.
type mergingRun struct {
	host mergingHost
	end  func() error
	cpu0 time.Duration
}

// beginMerging switches t's host setting on, if t has one; nil when not.
func beginMerging(t Target) (*mergingRun, error) {
	h, ok := t.(mergingHost)
	if !ok {
		return nil, nil
	}
	end, err := h.densityBegin()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t.Name(), err)
	}
	cpu0, _ := ksm.DaemonCPU()
	return &mergingRun{host: h, end: end, cpu0: cpu0}, nil
}

// checkpoint waits and measures at ksmCheckpoint instances, or at the
// end; it does nothing for a target without a host setting. At the end,
// the run's last point takes the memory left once merged.
func (m *mergingRun) checkpoint(ctx context.Context, run *results.DensityRun, live []*Instance, drop func() int64, final bool) {
	if m == nil || (!final && len(live) != ksmCheckpoint) || len(live) == 0 {
		return
	}
	k := len(run.Merging)
	if k == 0 || run.Merging[k-1].N != len(live) {
		run.Merging = append(run.Merging, m.host.densitySettle(ctx, live, m.cpu0, drop))
		k++
	}
	if final && len(run.Points) > 0 {
		run.Points[len(run.Points)-1].MemAvailableDrop = run.Merging[k-1].DropAfter
	}
}

// close puts the host's setting back.
func (m *mergingRun) close() error {
	if m == nil {
		return nil
	}
	return m.end()
}
