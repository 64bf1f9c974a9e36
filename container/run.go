package container

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vmmlab/vmm/cgroup"
	"github.com/vmmlab/vmm/privnet"
)

// maxOutput bounds the workload output kept in memory.
const maxOutput = 64 << 10

// Container is a created and started container.
type Container struct {
	rt     *Runtime
	cfg    Config
	bundle string
	proc   *os.Process
	// Launched is when create began; MarkerAfter is from then to the
	// marker line (0 if it never came).
	Launched    time.Time
	MarkerAfter time.Duration
	// Created and Started are when `create` and `start` returned;
	// Deleted is when Stop finished (zero until then).
	Created, Started, Deleted time.Time
	// KernelBefore is the host's unaccounted kernel memory before create.
	KernelBefore cgroup.KernelMemory

	// Addr is the container's address when it was plugged into a network.
	Addr netip.Prefix
	port *privnet.Port

	out     *output
	outDone chan struct{}
	exited  chan struct{}
	exit    Exit
	stopped bool
}

// Exit is how the workload ended.
type Exit struct {
	Code      int    // exit status, or -1 when killed by a signal
	Signal    string // the signal that killed it, if any
	OOMKilled bool   // the cgroup's OOM killer killed a process
}

func (e Exit) String() string {
	switch {
	case e.OOMKilled:
		return "killed by the OOM killer (memory limit)"
	case e.Signal != "":
		return "killed by " + e.Signal
	}
	return fmt.Sprintf("exit status %d", e.Code)
}

// StartOptions says where the bundle goes and what to wait for.
type StartOptions struct {
	StateDir string // the bundle is made in a new directory below it
	// Marker: Start returns once a line containing it appears (or the
	// workload ended); "" returns right after start.
	Marker string
	// Echo, if set, gets every line of the workload's output as it comes.
	Echo io.Writer
	// Network, if set, gets a veth into the container's (new) network
	// namespace, wired between create and start: eth0 with an address
	// and a default route through the network's gateway.
	Network *privnet.Network
	// Relay, if set, brings signals for the workload (docker run's
	// sig-proxy): Measure sends each to it while it runs.
	Relay <-chan os.Signal
	// Attached, if set, is told the container's address once it is
	// plugged into Network, before it starts.
	Attached func(addr netip.Prefix)
	// Explain, if set, is told how the container is set up, between
	// create and start (vmm container run --explain).
	Explain func(facts []string)
}

// Start creates and starts the container and returns once its output
// shows the marker line, or the workload ended, or ctx ended. Whatever
// happens, the returned container (if not nil) must be Stopped; on error
// Start cleans up itself.
func (r *Runtime) Start(ctx context.Context, c Config, o StartOptions) (*Container, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	if o.Network != nil && c.NetNS != "" {
		return nil, fmt.Errorf("container %s: both a network namespace and a network to plug into", c.ID)
	}
	if c.Process == nil && !inRoot(c.Rootfs, c.Args[0]) {
		return nil, fmt.Errorf("container %s: %s is not in the rootfs (%s)", c.ID, c.Args[0], c.Rootfs)
	}
	// The workload becomes our child once the runtime's create exits,
	// so that Wait can reap it and read its status.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return nil, fmt.Errorf("become a child subreaper: %w", err)
	}
	if err := os.MkdirAll(o.StateDir, 0o700); err != nil {
		return nil, err
	}
	bundle, err := os.MkdirTemp(o.StateDir, c.ID+"-")
	if err != nil {
		return nil, err
	}
	ct := &Container{rt: r, cfg: c, bundle: bundle, out: &output{echo: o.Echo}, outDone: make(chan struct{}), exited: make(chan struct{})}
	if err := c.WriteBundle(bundle); err != nil {
		os.RemoveAll(bundle)
		return nil, err
	}
	if err := ct.create(ctx); err != nil {
		ct.Stop()
		return nil, err
	}
	if o.Network != nil {
		port, err := o.Network.AttachNS(fmt.Sprintf("/proc/%d/ns/net", ct.proc.Pid), "eth0")
		if err != nil {
			ct.Stop()
			return nil, fmt.Errorf("container %s: network: %w", c.ID, err)
		}
		ct.port, ct.Addr = port, port.Addr
		if o.Attached != nil {
			o.Attached(port.Addr)
		}
	}
	if o.Explain != nil {
		o.Explain(ct.explain())
	}
	var marker *waiter
	if o.Marker != "" {
		marker = ct.out.watch(o.Marker) // before start: the workload may print at once
	}
	if err := r.run(ctx, "start", c.ID); err != nil {
		ct.Stop()
		return nil, err
	}
	ct.Started = time.Now()
	if marker == nil {
		return ct, nil
	}
	select {
	case <-marker.c:
	case <-ct.exited:
		<-ct.outDone // it may have printed the marker and ended at once
	case <-ctx.Done():
		ct.Stop()
		return nil, fmt.Errorf("container %s: waiting for %q: %w", c.ID, o.Marker, ctx.Err())
	}
	if at, ok := marker.seenAt(); ok {
		ct.MarkerAfter = at.Sub(ct.Launched)
	}
	return ct, nil
}

// create runs `runtime create` with the workload's stdout and stderr on a
// pipe, then takes over the workload process.
func (ct *Container) create(ctx context.Context) error {
	pr, pw, err := os.Pipe()
	if err != nil {
		return err
	}
	defer pw.Close() // the workload holds its own copy
	pidFile := filepath.Join(ct.bundle, "pid")
	args := []string{"create", "--bundle", ct.bundle, "--pid-file", pidFile}
	if ct.rt.NoPivot {
		args = append(args, "--no-pivot")
	}
	cmd := ct.rt.command(ctx, append(args, ct.cfg.ID)...)
	cmd.Stdout, cmd.Stderr = pw, pw
	ct.KernelBefore, _ = cgroup.ReadKernelMemory("/proc/meminfo")
	ct.Launched = time.Now()
	if err := ct.rt.start(cmd); err != nil {
		pr.Close()
		return fmt.Errorf("%s create: %w", ct.rt.Name, err)
	}
	go ct.out.collect(pr, ct.outDone)
	if err := cmd.Wait(); err != nil {
		pw.Close()
		select { // the runtime's own messages, once every writer is gone
		case <-ct.outDone:
		case <-time.After(2 * time.Second):
		}
		return commandError(ctx, ct.rt.Name+" create "+ct.cfg.ID, err, ct.out.String())
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return fmt.Errorf("%s create: no pid file: %w", ct.rt.Name, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return fmt.Errorf("%s create: pid file holds %q", ct.rt.Name, b)
	}
	ct.Created = time.Now()
	ct.proc, _ = os.FindProcess(pid) // always succeeds on Linux
	ct.rt.workloads.add(pid)
	go ct.reap()
	return nil
}

// reap waits for the workload (our child as subreaper) and records how
// it ended, OOM kills included (read before delete removes the cgroup).
func (ct *Container) reap() {
	defer close(ct.exited)
	st, err := ct.proc.Wait()
	ct.rt.workloads.remove(ct.proc.Pid)
	if err != nil {
		ct.exit = Exit{Code: -1, Signal: "unknown (" + err.Error() + ")"}
		return
	}
	ws, _ := st.Sys().(syscall.WaitStatus)
	ct.exit = Exit{Code: ws.ExitStatus()}
	if ws.Signaled() {
		ct.exit.Signal = unix.SignalName(ws.Signal())
	}
	if m, err := cgroup.ReadMemory(cgroup.Root, ct.rt.Mode, ct.cfg.Group); err == nil && m.OOMKills > 0 {
		ct.exit.OOMKilled = true
	}
}

// Memory reads the container's cgroup memory now.
func (ct *Container) Memory() (cgroup.Memory, error) {
	return cgroup.ReadMemory(cgroup.Root, ct.rt.Mode, ct.cfg.Group)
}

// Output is what the workload printed so far (at most the last 64 KiB).
func (ct *Container) Output() string { return ct.out.String() }

// Wait waits for the workload to end, or for ctx, sending it each
// signal that comes on relay (nil: none) through the runtime's kill.
func (ct *Container) Wait(ctx context.Context, relay <-chan os.Signal) (Exit, error) {
	for {
		select {
		case <-ct.exited:
			<-ct.outDone
			return ct.exit, nil
		case s := <-relay:
			if sig, ok := s.(syscall.Signal); ok {
				ct.rt.run(ctx, "kill", ct.cfg.ID, fmt.Sprint(int(sig))) // may race with its exit
			}
		case <-ctx.Done():
			return Exit{}, ctx.Err()
		}
	}
}

// Stop kills the workload if it still runs, deletes the container and
// its bundle, and makes sure its cgroup is gone. It is safe to call more
// than once and works after ctx cancellation (it uses its own deadline).
func (ct *Container) Stop() error {
	if ct.stopped {
		return nil
	}
	ct.stopped = true
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var errs []error
	if ct.proc != nil {
		select {
		case <-ct.exited:
		default:
			ct.rt.run(ctx, "kill", ct.cfg.ID, "KILL") // may race with a normal exit
			select {
			case <-ct.exited:
			case <-ctx.Done():
				errs = append(errs, fmt.Errorf("container %s: workload did not die", ct.cfg.ID))
			}
		}
	}
	deleted := make(chan struct{})
	if ct.rt.Name == "runsc" {
		go reapWhile(deleted, runscHelper, ct.rt.workloads.has)
	}
	err := ct.rt.run(ctx, "delete", "--force", ct.cfg.ID)
	close(deleted)
	if err != nil && !notFound(err) {
		errs = append(errs, err)
	}
	if ct.port != nil {
		if err := ct.port.Close(); err != nil {
			errs = append(errs, fmt.Errorf("container %s: veth: %w", ct.cfg.ID, err))
		}
	}
	if err := cgroup.Remove(cgroup.Root, ct.rt.Mode, ct.cfg.Group); err != nil {
		errs = append(errs, fmt.Errorf("container %s: cgroup left behind: %w", ct.cfg.ID, err))
	}
	if err := os.RemoveAll(ct.bundle); err != nil {
		errs = append(errs, err)
	}
	ct.Deleted = time.Now()
	return errors.Join(errs...)
}

func notFound(err error) bool {
	s := err.Error()
	return strings.Contains(s, "does not exist") || strings.Contains(s, "not found") || strings.Contains(s, "No such file")
}

// PID is the workload's process ID on the host (0 before create).
func (ct *Container) PID() int {
	if ct.proc == nil {
		return 0
	}
	return ct.proc.Pid
}

// Group is the container's cgroup path below each controller's root.
func (ct *Container) Group() string { return ct.cfg.Group }

// inRoot says whether cmd (a path, or a bare name looked up in the
// container's PATH, /bin then /bbin) exists in the root file system.
func inRoot(root, cmd string) bool {
	candidates := []string{filepath.Join(root, cmd)}
	if !strings.Contains(cmd, "/") {
		candidates = []string{filepath.Join(root, "bin", cmd), filepath.Join(root, "bbin", cmd)}
	}
	for _, p := range candidates {
		if _, err := os.Stat(p); err == nil {
			return true
		}
	}
	return false
}
