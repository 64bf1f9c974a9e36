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
	// Cached are the image's files whose page cache is measured with all
	// instances up (nil: none).
	Cached   []string
	Progress func(target string, n, of int)
}

// measureDensity starts idle http instances of t one after another, each on
// its own address on a private bridge, until Max, the budget, or the
// first failure; every instance must answer HTTP before it counts. Then
// it tears everything down and checks that nothing is left.
func measureDensity(ctx context.Context, t Target, c densityConfig) results.DensityRun {
	run := results.DensityRun{Target: t.Name(), Max: c.Max, Budget: c.Budget}
	br, err := newBridge(c.Prefix)
	if err != nil {
		run.StopReason = "bridge: " + err.Error()
		return run
	}
	before, _ := ReadHostMemory()
	var live []*Instance
	start := time.Now()
	run.StopReason = fmt.Sprintf("reached --max %d", c.Max)
	for n := 1; n <= c.Max; n++ {
		if ctx.Err() != nil {
			run.StopReason = "interrupted"
			break
		}
		if c.Progress != nil {
			c.Progress(t.Name(), n, c.Max)
		}
		in, answer, err := densityOne(ctx, t, br, c)
		if err != nil {
			run.Failures = append(run.Failures, fmt.Sprintf("instance %d: %v", n, err))
			run.StopReason = fmt.Sprintf("instance %d failed", n)
			break
		}
		live = append(live, in)
		if dead := deadInstances(live); len(dead) > 0 {
			run.Failures = append(run.Failures, dead...)
			run.StopReason = fmt.Sprintf("an earlier instance ended while instance %d started", n)
			break
		}
		now, _ := ReadHostMemory()
		drop := before.MemAvailable - now.MemAvailable
		run.Points = append(run.Points, results.DensityPoint{N: n, ReadyMS: ms(in.Ready), AnswerMS: ms(answer),
			ElapsedS: time.Since(start).Seconds(), MemAvailableDrop: drop})
		if c.Budget > 0 && drop >= c.Budget {
			run.StopReason = fmt.Sprintf("memory budget %d MiB used", c.Budget>>20)
			break
		}
		if c.Reserve > 0 && now.MemAvailable < c.Reserve {
			run.StopReason = fmt.Sprintf("host MemAvailable under the %d MiB reserve", c.Reserve>>20)
			break
		}
	}
	for _, in := range live {
		if len(in.PIDs()) > 0 {
			run.Count++
		}
	}
	if n := len(run.Points); n > 0 {
		last := run.Points[n-1]
		run.LaunchRate = float64(n) / last.ElapsedS
		run.MemAvailablePer = last.MemAvailableDrop / int64(n)
		var pss uint64
		for _, in := range live {
			for _, pid := range in.PIDs() {
				if ms, err := ReadSmaps(pid); err == nil {
					pss += Sum(ms).Pss
				}
			}
		}
		run.PssPer = pss / uint64(n)
		now, _ := ReadHostMemory()
		run.HostKernelPer = now.Sub(before).Kernel() / int64(n)
		run.WrittenBytes = written(live)
		if c.Cached != nil {
			if n, err := pageCached(c.Cached); err == nil {
				run.ImageCachedBytes = &n
			}
		}
	}
	for _, in := range live {
		if err := in.Stop(); err != nil {
			run.Failures = append(run.Failures, "teardown: "+err.Error())
		}
	}
	run.Leftovers = append(run.Leftovers, br.Leftovers()...)
	for _, in := range live {
		for _, pid := range in.PIDs() {
			run.Leftovers = append(run.Leftovers, fmt.Sprintf("process %d (%s)", pid, procName(pid)))
		}
	}
	if err := br.Close(); err != nil {
		run.Leftovers = append(run.Leftovers, "bridge: "+err.Error())
	}
	return run
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
		in.Stop()
		return nil, 0, fmt.Errorf("no HTTP answer from %v: %w: %s", in.Addr, err, lastLines(tail, 3))
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

// deadInstances describes the instances that ended although they should
// idle: a density count only holds while every instance lives.
func deadInstances(live []*Instance) []string {
	var out []string
	for i, in := range live {
		if len(in.PIDs()) == 0 {
			out = append(out, fmt.Sprintf("instance %d ended: %s", i+1, lastLines(in.Tail(), 8)))
		}
	}
	return out
}
