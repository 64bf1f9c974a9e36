package bench

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/vmmlab/vmm/bench/results"
)

// Spec is one instance to launch: a workload (a program in the image's
// /bin) and its arguments, with the limits every target gets alike.
type Spec struct {
	Workload string
	Args     []string
	MemMiB   int // guest RAM of a VM; memory limit of a container
	CPUs     int
	// Net, when set, plugs the instance into the bench's bridge (density).
	Net *Bridge
	// MemReport, for a VM, has its init say where the guest's memory went
	// this many seconds after the workload started (0: never).
	MemReport int
}

// Target is one way of running a workload: vm, crun, docker, process, ...
type Target interface {
	Name() string
	Kind() results.Kind
	// Check says why the target cannot run on this host; nil if it can.
	Check() error
	// Version names the software under test (runtime or VMM and kernel).
	Version() string
	// Launch starts an instance and returns once its ready marker was
	// seen. On error nothing is left running; otherwise the caller must
	// Stop the instance.
	Launch(ctx context.Context, s Spec) (*Instance, error)
}

// Instance is a running (or ended) instance of a target.
type Instance struct {
	Launched time.Time
	Ready    time.Duration // launch → ready marker
	Addr     netip.Addr    // its address on the bridge, if plugged in
	// dial, when set, reaches Addr (a clone in its own namespace);
	// otherwise the bridge's namespace does.
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// GuestRAM is a VM's configured memory in bytes (0 otherwise).
	GuestRAM uint64
	// Cgroup is a container's cgroup directory (absolute; "" otherwise).
	Cgroup string
	// Upper is the host directory that takes what the instance writes (an
	// image container's overlay upper; "" when its writes stay in memory).
	Upper string

	phases []results.Phase
	ops    instanceOps
}

// instanceOps is what a target supplies to drive its instance.
type instanceOps interface {
	// wait blocks until the instance ends by itself or ctx ends.
	wait(ctx context.Context) error
	// stop ends the instance and removes everything it made.
	stop() error
	// pids are the host processes that make up the instance now (the
	// VMM, or the container's processes and its runtime's helpers).
	pids() []int
	// late adds phases only known at the end (e.g. the VMM's own
	// timestamps) once the instance has ended.
	late() []results.Phase
	// tail is the instance's last output lines (for failure reports).
	tail() string
}

// dialer reaches the instance's address: through its own namespace (a
// clone), else through br's.
func (in *Instance) dialer(br *Bridge) func(ctx context.Context, network, addr string) (net.Conn, error) {
	if in.dial != nil {
		return in.dial
	}
	return br.net.NS.DialContext
}

func (in *Instance) mark(name string, at time.Time) {
	in.phases = append(in.phases, results.Phase{Name: name, MS: ms(at.Sub(in.Launched))})
}

// Phases are the named points seen so far, late ones included.
func (in *Instance) Phases() []results.Phase {
	return append(append([]results.Phase(nil), in.phases...), in.ops.late()...)
}

// Wait waits for the instance to end by itself and records "exit".
func (in *Instance) Wait(ctx context.Context) error {
	if err := in.ops.wait(ctx); err != nil {
		return err
	}
	in.mark("exit", time.Now())
	return nil
}

// Stop ends the instance and records "removed".
func (in *Instance) Stop() error {
	err := in.ops.stop()
	in.mark("removed", time.Now())
	return err
}

// PIDs lists the host processes that make up the instance now.
func (in *Instance) PIDs() []int { return in.ops.pids() }

// Tail is the instance's last lines of output.
func (in *Instance) Tail() string { return in.ops.tail() }

func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

// Names lists the targets in their canonical order.
func Names(ts []Target) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Name()
	}
	return out
}

// selectTargets picks the named targets ("all" for every one) from ts in the
// order given, rejecting unknown names.
func selectTargets(ts []Target, names []string) ([]Target, error) {
	if len(names) == 0 || len(names) == 1 && names[0] == "all" {
		return ts, nil
	}
	var out []Target
	for _, n := range names {
		found := false
		for _, t := range ts {
			if t.Name() == n {
				out, found = append(out, t), true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown target %q: want %s or all", n, strings.Join(Names(ts), ", "))
		}
	}
	return out, nil
}
