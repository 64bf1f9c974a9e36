package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/vmmlab/vmm/bench/results"
	"github.com/vmmlab/vmm/bench/workload"
	"github.com/vmmlab/vmm/internal/rootdisk"
	"github.com/vmmlab/vmm/runresult"
)

// httpPage is what the http workload serves on / (see workload/http).
const httpPage = "vmm bench: hello over http\n"

// densityConfig says how far to push one target.
type densityConfig struct {
	Max     int
	Budget  int64 // stop once MemAvailable fell this many bytes
	Reserve int64 // stop before MemAvailable falls under this
	MemMiB  int
	CPUs    int
	Timeout time.Duration // per instance, launch → answering HTTP
	Prefix  netip.Prefix
	// Image says the targets' Assets.OCI runs in place of the http
	// workload, ready at its own condition: Probe for a network one, nil
	// for a log line.
	Probe *Ready
	Image bool
	// LabFault names a run result's known fault of the nested lab (nil:
	// every failure ends the run).
	LabFault func(runresult.Result) (string, bool)
	// Cached are the image's files whose page cache is measured with all
	// instances up (nil: none).
	Cached   []string
	Progress func(target string, n, of int)
}

// maxDensityFailures ends a density run at this many failed instances,
// known lab faults included.
const maxDensityFailures = 3

// measureDensity starts idle http instances of t one after another, each on
// its own address on a private bridge, until Max, the budget, or a
// failure; every instance must answer HTTP before it counts. A failure
// c.LabFault recognises is recorded and the run goes on, up to
// maxDensityFailures failures in all. Then it tears everything down and
// checks that nothing is left.
func measureDensity(ctx context.Context, t Target, c densityConfig) results.DensityRun {
	run := results.DensityRun{Target: t.Name(), Max: c.Max, Budget: c.Budget}
	br, err := newBridge(c.Prefix)
	if err != nil {
		run.StopReason = "bridge: " + err.Error()
		return run
	}
	merging, err := beginMerging(t)
	if err != nil {
		run.StopReason = err.Error()
		closeBridge(&run, br)
		return run
	}
	before, _ := ReadHostMemory()
	drop := func() int64 { now, _ := ReadHostMemory(); return before.MemAvailable - now.MemAvailable }
	var live []*Instance
	start := time.Now()
	run.StopReason = fmt.Sprintf("reached --max %d", c.Max)
	for attempt := 1; len(live) < c.Max; attempt++ {
		if ctx.Err() != nil {
			run.StopReason = "interrupted"
			break
		}
		if c.Progress != nil {
			c.Progress(t.Name(), len(live)+1, c.Max)
		}
		in, answer, err := densityOne(ctx, t, br, c)
		if err != nil {
			if err := c.excuse(&run, attempt, err); err != nil {
				run.Failures = append(run.Failures, err.Error())
				run.StopReason = fmt.Sprintf("instance %d failed", attempt)
				break
			}
		} else if live, err = c.reapDead(&run, append(live, in)); err != nil {
			run.Failures = append(run.Failures, err.Error())
			run.StopReason = fmt.Sprintf("an earlier instance ended while instance %d started", attempt)
			break
		}
		if failed := len(run.LabFaults); failed >= maxDensityFailures {
			run.StopReason = fmt.Sprintf("%d known lab faults", failed)
			break
		}
		if in == nil {
			continue
		}
		now, _ := ReadHostMemory()
		dropped := before.MemAvailable - now.MemAvailable
		run.Points = append(run.Points, results.DensityPoint{N: len(live), ReadyMS: ms(in.Ready), AnswerMS: ms(answer),
			ElapsedS: time.Since(start).Seconds(), MemAvailableDrop: dropped})
		merging.checkpoint(ctx, &run, live, drop, false)
		if c.Budget > 0 && dropped >= c.Budget {
			run.StopReason = fmt.Sprintf("memory budget %d MiB used", c.Budget>>20)
			break
		}
		if c.Reserve > 0 && now.MemAvailable < c.Reserve {
			run.StopReason = fmt.Sprintf("host MemAvailable under the %d MiB reserve", c.Reserve>>20)
			break
		}
	}
	merging.checkpoint(ctx, &run, live, drop, true)
	summarize(&run, live, before, c)
	for _, in := range live {
		if err := in.Stop(); err != nil {
			run.Failures = append(run.Failures, "teardown: "+err.Error())
		}
	}
	if err := merging.close(); err != nil {
		run.Leftovers = append(run.Leftovers, err.Error())
	}
	for _, in := range live {
		for _, pid := range in.PIDs() {
			run.Leftovers = append(run.Leftovers, fmt.Sprintf("process %d (%s)", pid, procName(pid)))
		}
	}
	closeBridge(&run, br)
	return run
}

// summarize fills in run's per-instance figures with live up.
func summarize(run *results.DensityRun, live []*Instance, before results.HostMemory, c densityConfig) {
	for _, in := range live {
		if len(in.PIDs()) > 0 {
			run.Count++
		}
	}
	n := len(run.Points)
	if n == 0 {
		return
	}
	last := run.Points[n-1]
	run.LaunchRate = float64(n) / last.ElapsedS
	per := int64(max(last.N, 1))
	run.MemAvailablePer = last.MemAvailableDrop / per
	var pss uint64
	for _, in := range live {
		for _, pid := range in.PIDs() {
			if ms, err := ReadSmaps(pid); err == nil {
				pss += Sum(ms).Pss
			}
		}
	}
	run.PssPer = pss / uint64(per)
	now, _ := ReadHostMemory()
	run.HostKernelPer = now.Sub(before).Kernel() / per
	run.WrittenBytes = written(live)
	if c.Cached != nil {
		if n, err := pageCached(c.Cached); err == nil {
			run.ImageCachedBytes = &n
		}
	}
}

// closeBridge removes br, noting in run what it left behind.
func closeBridge(run *results.DensityRun, br *Bridge) {
	run.Leftovers = append(run.Leftovers, br.Leftovers()...)
	if err := br.Close(); err != nil {
		run.Leftovers = append(run.Leftovers, "bridge: "+err.Error())
	}
}

// densityOne launches one instance and waits for its HTTP answer (or
// an image's ready condition).
func densityOne(ctx context.Context, t Target, br *Bridge, c densityConfig) (*Instance, time.Duration, error) {
	lctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	spec := Spec{Workload: workload.HTTP, MemMiB: c.MemMiB, CPUs: c.CPUs, Net: br}
	if c.Image {
		in, err := launchReady(lctx, t, spec, c.Probe)
		if err != nil {
			return nil, 0, err
		}
		return in, in.Ready, nil
	}
	in, err := t.Launch(lctx, spec)
	if err != nil {
		return nil, 0, err
	}
	if err := getPage(lctx, in.dialer(br), in.Addr); err != nil {
		tail := in.Tail()
		return nil, 0, stopFailed(in, fmt.Errorf("no HTTP answer from %v: %w: %s", in.Addr, err, lastLines(tail, 3)))
	}
	return in, time.Since(in.Launched), nil
}

// written is what the instances wrote to host disk: the allocated size
// of their upper directories; nil when one has none to measure.
func written(live []*Instance) *int64 {
	var n int64
	for _, in := range live {
		if in.Upper == "" {
			return nil
		}
		b, err := rootdisk.DiskUsage(in.Upper)
		if err != nil {
			return nil
		}
		n += b
	}
	return &n
}

// getPage fetches / from addr:8080 through dial, retrying until ctx ends
// (a guest's network may come up after its marker).
func getPage(ctx context.Context, dial func(ctx context.Context, network, addr string) (net.Conn, error), addr netip.Addr) error {
	client := &http.Client{Transport: &http.Transport{DialContext: dial, DisableKeepAlives: true}}
	url := "http://" + netip.AddrPortFrom(addr, 8080).String() + "/"
	var last error
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := client.Do(req)
		if err == nil {
			body, rerr := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			if rerr == nil && string(body) == httpPage {
				return nil
			}
			err = fmt.Errorf("unexpected answer %q", strings.TrimSpace(string(body)))
		}
		last = err
		select {
		case <-ctx.Done():
			return last
		case <-time.After(200 * time.Millisecond):
		}
	}
}
