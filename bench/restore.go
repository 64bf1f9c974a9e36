package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/vmmlab/vmm/api/apiclient"
	"github.com/vmmlab/vmm/bench/results"
	"github.com/vmmlab/vmm/internal/tapns"
)

// restoreTarget is vm-restore: the vm target's guest snapshotted once per
// workload at the moment vmm-init starts it (vmm boot
// --snapshot-on-ready), then restored for every run (vmm restore). Its
// ready marker is the workload's own, printed after the restore, as for
// a cold boot: the difference is the kernel's and init's work skipped.
type restoreTarget struct {
	vm *vmmTarget
	// lazy is vm-restore-lazy: no working set, every page faulted in on
	// first touch. vm-restore records one restore's working set right
	// after the snapshot, and every restore reads it in first.
	lazy bool
	mu   sync.Mutex
	// dir holds the snapshots, by workload and limits; Close removes it.
	dir   string
	snaps map[string]string
}

// newVMMRestore is the vm-restore target, or vm-restore-lazy.
func newVMMRestore(a Assets, lazy bool) Target {
	return &restoreTarget{vm: newVMM(a, false).(*vmmTarget), lazy: lazy, snaps: map[string]string{}}
}

func (t *restoreTarget) Name() string {
	if t.lazy {
		return results.TargetVMRestoreLazy
	}
	return results.TargetVMRestore
}
func (t *restoreTarget) Kind() results.Kind { return results.KindVM }
func (t *restoreTarget) Check() error {
	if err := checkImage(t.vm.a, t.Name(), false); err != nil {
		return err
	}
	return t.vm.Check()
}
func (t *restoreTarget) Version() string {
	if t.lazy {
		return t.vm.Version() + ", restored from a snapshot, each page on first touch (--working-set off)"
	}
	return t.vm.Version() + ", restored from a snapshot, its recorded working set read first"
}

// Close removes the snapshots.
func (t *restoreTarget) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.dir == "" {
		return nil
	}
	err := os.RemoveAll(t.dir)
	t.dir, t.snaps = "", map[string]string{}
	return err
}

// snapshot returns the snapshot for s, taking it on first use. For a
// density run (s.Net set) the guest has a NIC, with cloneGuest's address.
func (t *restoreTarget) snapshot(ctx context.Context, s Spec) (string, error) {
	key := fmt.Sprintf("%s %s %d %d net=%v memreport=%d", s.Workload, strings.Join(s.Args, " "), s.MemMiB, s.CPUs, s.Net != nil, s.MemReport)
	t.mu.Lock()
	defer t.mu.Unlock()
	if dir, ok := t.snaps[key]; ok {
		return dir, nil
	}
	if t.dir == "" {
		d, err := os.MkdirTemp("", "vmm-bench-snapshots-")
		if err != nil {
			return "", err
		}
		t.dir = d
	}
	dir := filepath.Join(t.dir, fmt.Sprint(len(t.snaps)))
	addr, gw := "", ""
	if s.Net != nil {
		addr, gw = cloneGuest.String(), cloneGateway.Addr().String()
	}
	cmdline, err := workloadCmdline(t.vm.root, s, addr, gw)
	if err != nil {
		return "", err
	}
	args := []string{"boot", "--kernel", t.vm.kernel, "--initrd", t.vm.initrd, "--disk", t.vm.a.RootDisk + ",ro", "--mem", fmt.Sprintf("%dM", s.MemMiB),
		"--cpus", fmt.Sprint(s.CPUs), "--virtio", t.vm.transport, "--snapshot-on-ready", dir, "--cmdline", cmdline}
	cmd := exec.CommandContext(ctx, t.vm.a.VMM, args...)
	if s.Net != nil {
		cn, err := newCloneNet()
		if err != nil {
			return "", fmt.Errorf("vm-restore: %w", err)
		}
		defer cn.Close()
		cmd.Args = append(cmd.Args, "--net", "fd=3")
		cmd.ExtraFiles = []*os.File{cn.Tap}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s: taking the snapshot: %w: %s", t.Name(), err, failureLines(string(out), 3))
	}
	if !t.lazy {
		if err := t.recordWorkingSet(ctx, dir, s); err != nil {
			return "", fmt.Errorf("%s: recording the working set: %w", t.Name(), err)
		}
	}
	t.snaps[key] = dir
	return dir, nil
}

// recordWorkingSet restores snapshot snap once with --working-set record
// and, at the workload's ready line, has it write the pages its guest
// touched into the snapshot, which every later restore reads in first.
func (t *restoreTarget) recordWorkingSet(ctx context.Context, snap string, s Spec) error {
	sock := snap + ".sock"
	in, err := t.restore(ctx, snap, s, "--working-set", "record", "--api-sock", sock)
	if err != nil {
		return err
	}
	_, err = apiclient.New(sock, time.Minute).RecordWorkingSet()
	return errors.Join(err, in.Stop())
}

// Launch restores the snapshot for s. In a density run each clone gets
// its own namespace and tap (cloneNet), as its address is the snapshot's.
func (t *restoreTarget) Launch(ctx context.Context, s Spec) (*Instance, error) {
	snap, err := t.snapshot(ctx, s)
	if err != nil {
		return nil, err
	}
	ws := "auto"
	if t.lazy {
		ws = "off"
	}
	return t.restore(ctx, snap, s, "--working-set", ws)
}

// restore starts vmm restore of snap with extra flags, ready at the
// workload's ready line.
func (t *restoreTarget) restore(ctx context.Context, snap string, s Spec, extra ...string) (*Instance, error) {
	in := &Instance{GuestRAM: uint64(s.MemMiB) << 20}
	cmd := exec.Command(t.vm.a.VMM, append([]string{"restore", snap, "--disk", t.vm.a.RootDisk + ",ro", "--json"}, extra...)...)
	var cn *tapns.Net
	var err error
	if s.Net != nil {
		if cn, err = newCloneNet(); err != nil {
			return nil, fmt.Errorf("%s: %w", t.Name(), err)
		}
		cmd.Args = append(cmd.Args, "--net", "fd=3")
		cmd.ExtraFiles = []*os.File{cn.Tap}
		in.Addr, in.dial = cloneGuest.Addr(), cn.NS.DialContext
	}
	p, err := startProc(ctx, cmd, in)
	if err != nil {
		if cn != nil {
			cn.Close()
		}
		return nil, fmt.Errorf("%s: %w", t.Name(), err)
	}
	p.lateFn = func() []results.Phase { return vmmPhases(p.out.lastJSON(), in.Launched) }
	if cn != nil {
		p.cleanup = cn.Close
	}
	return in, nil
}
