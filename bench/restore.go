package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

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
	mu sync.Mutex
	// dir holds the snapshots, by workload and limits; Close removes it.
	dir   string
	snaps map[string]string
}

// newVMMRestore is the vm-restore target.
func newVMMRestore(a Assets) Target {
	return &restoreTarget{vm: newVMM(a, false).(*vmmTarget), snaps: map[string]string{}}
}

func (t *restoreTarget) Name() string       { return results.TargetVMRestore }
func (t *restoreTarget) Kind() results.Kind { return results.KindVM }
func (t *restoreTarget) Check() error {
	if err := checkImage(t.vm.a, t.Name(), false); err != nil {
		return err
	}
	return t.vm.Check()
}
func (t *restoreTarget) Version() string { return t.vm.Version() + ", restored from a snapshot" }

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
	key := fmt.Sprintf("%s %s %d %d net=%v", s.Workload, strings.Join(s.Args, " "), s.MemMiB, s.CPUs, s.Net != nil)
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
		return "", fmt.Errorf("vm-restore: taking the snapshot: %w: %s", err, failureLines(string(out), 3))
	}
	t.snaps[key] = dir
	return dir, nil
}

// Launch restores the snapshot for s. In a density run each clone gets
// its own namespace and tap (cloneNet), as its address is the snapshot's.
func (t *restoreTarget) Launch(ctx context.Context, s Spec) (*Instance, error) {
	snap, err := t.snapshot(ctx, s)
	if err != nil {
		return nil, err
	}
	in := &Instance{GuestRAM: uint64(s.MemMiB) << 20}
	cmd := exec.Command(t.vm.a.VMM, "restore", snap, "--disk", t.vm.a.RootDisk+",ro", "--json")
	var cn *tapns.Net
	if s.Net != nil {
		if cn, err = newCloneNet(); err != nil {
			return nil, fmt.Errorf("vm-restore: %w", err)
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
		return nil, fmt.Errorf("vm-restore: %w", err)
	}
	p.lateFn = func() []results.Phase { return vmmPhases(p.out.lastJSON(), in.Launched) }
	if cn != nil {
		p.cleanup = cn.Close
	}
	return in, nil
}
