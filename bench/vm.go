package bench

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/vmmlab/vmm/bench/results"
	"github.com/vmmlab/vmm/bench/workload"
	"github.com/vmmlab/vmm/guestinit"
	"github.com/vmmlab/vmm/internal/qemuvm"
	"github.com/vmmlab/vmm/kvm"
	"github.com/vmmlab/vmm/memory"
	"github.com/vmmlab/vmm/runresult"
)

// guestCmdline is the kernel command line every VM target gets (vmm and
// QEMU alike), before the workload's own parameters: serial console,
// quiet (every console byte is a VM exit), no reboot loop on panic.
const guestCmdline = "console=ttyS0 quiet panic=-1 reboot=k"

// rootDisk says how a guest makes the root disk (Assets.RootDisk,
// read-only, the first virtio disk) its root: the VMs' userland is that
// disk, as Firecracker and Kata boot theirs, and the guest reads from it
// only what it runs.
type rootDisk struct {
	kernel string           // the kernel's own parameters
	init   *guestinit.Mount // vmm-init's (vmm.root)
	pmem   bool             // given as --pmem, not --disk
}

// flags are vmm's flags that attach the root disk at path.
func (r rootDisk) flags(path string) []string {
	if r.pmem {
		return []string{"--pmem", path + ",ro"}
	}
	return []string{"--disk", path + ",ro"}
}

// diskRoot: the minimal kernel has virtio-blk and ext4 built in and
// mounts the disk itself; no initramfs.
func diskRoot() rootDisk { return rootDisk{kernel: "root=/dev/vda ro rootfstype=ext4 init=/init"} }

// pmemRoot: the same disk as a virtio-pmem window, which the minimal
// kernel mounts with DAX: the guest reads the host's page cache of the
// disk, one copy for every VM, instead of caching its own.
func pmemRoot() rootDisk {
	return rootDisk{kernel: "root=/dev/pmem0 ro rootfstype=ext4 rootflags=dax init=/init", pmem: true}
}

// initrdRoot: the Debian kernel has them as modules; vmm-init in a small
// initramfs (Assets.StockInitrd) loads them, then switches to the disk.
func initrdRoot() rootDisk {
	return rootDisk{init: &guestinit.Mount{Source: "/dev/vda", Target: "/", FSType: "ext4"}}
}

// workloadCmdline is the kernel command line for spec: guestCmdline, how
// the root disk is mounted, and the guest init's task (built by
// guestinit, which reads it).
func workloadCmdline(root rootDisk, s Spec, addr, gw string) (string, error) {
	task := guestinit.Task{Run: "/bin/" + s.Workload, Args: s.Args, Root: root.init, MemReport: s.MemReport}
	if err := setAddress(&task, addr, gw); err != nil {
		return "", err
	}
	params, err := task.Cmdline()
	if err != nil {
		return "", fmt.Errorf("%s: %w", s.Workload, err)
	}
	return strings.Join(strings.Fields(guestCmdline+" "+root.kernel+" "+params), " "), nil
}

// setAddress gives the guest init's task the guest's address (CIDR) and
// gateway on the bench's bridge; nothing for addr "".
func setAddress(task *guestinit.Task, addr, gw string) error {
	if addr == "" {
		return nil
	}
	var err error
	if task.IP, err = netip.ParsePrefix(addr); err != nil {
		return err
	}
	task.GW, err = netip.ParseAddr(gw)
	return err
}

// vmmTarget boots the workload under vmm.
type vmmTarget struct {
	name, kernel, transport string
	initrd                  string // the initramfs ("none")
	root                    rootDisk
	extra                   []string // more vmm boot flags
	a                       Assets
}

// newVMM is the vm target (minimal kernel, virtio-mmio) when stock is
// false, vm-stock (the Debian kernel, virtio-pci) when it is true. With
// Assets.Unpacked, vm-stock boots the Debian kernel unpacked by vmm on
// the host (the first boot unpacks it: a warm-up round's).
func newVMM(a Assets, stock bool) Target {
	if stock {
		t := &vmmTarget{name: results.TargetVMStock, kernel: a.StockKernel, transport: "pci", initrd: a.StockInitrd, root: initrdRoot(), a: a}
		if a.Unpacked != "" {
			t.extra = []string{"--unpack-kernel", a.Unpacked}
		}
		return t
	}
	return &vmmTarget{name: results.TargetVM, kernel: a.MicroKernel, transport: "mmio", initrd: "none", root: diskRoot(), a: a}
}

// newVMMNoTHP is vm-nothp: the vm target with guest RAM kept off
// transparent huge pages (vmm boot --thp off), so that the report shows
// what huge pages cost in memory and gain in speed.
func newVMMNoTHP(a Assets) Target {
	return &vmmTarget{name: results.TargetVMNoTHP, kernel: a.MicroKernel, transport: "mmio", initrd: "none", root: diskRoot(),
		extra: []string{"--thp", "off"}, a: a}
}

// pmemTarget is vm-pmem: the vm target with its root disk through
// virtio-pmem (pmemRoot).
type pmemTarget struct{ *vmmTarget }

func newVMMPmem(a Assets) Target {
	return pmemTarget{&vmmTarget{name: results.TargetVMPmem, kernel: a.MicroKernel, transport: "mmio", initrd: "none", root: pmemRoot(), a: a}}
}

// Check refuses application images (their root is an overlay vmm-init
// mounts from a virtio-blk disk) and a root disk that cannot be a pmem
// window.
func (t pmemTarget) Check() error {
	if t.a.OCI != nil {
		return errors.New("vm-pmem boots the bench's own root disk; an application image's root is not given through virtio-pmem yet")
	}
	if err := memory.CheckWindowPath(t.a.RootDisk); err != nil {
		return fmt.Errorf("the root disk as a virtio-pmem window: %w", err)
	}
	return t.vmmTarget.Check()
}

func (t *vmmTarget) Name() string       { return t.name }
func (t *vmmTarget) Kind() results.Kind { return results.KindVM }
func (t *vmmTarget) Check() error       { return kvmUsable() }
func (t *vmmTarget) Version() string {
	v := fmt.Sprintf("%s, kernel %s", commandVersion(t.a.VMM, "version"), kernelVersion(t.kernel))
	if len(t.extra) > 0 {
		v += ", vmm boot " + strings.Join(t.extra, " ")
	}
	return v
}

func (t *vmmTarget) Launch(ctx context.Context, s Spec) (*Instance, error) {
	if t.a.OCI != nil {
		return t.launchImage(ctx, s)
	}
	in := &Instance{GuestRAM: uint64(s.MemMiB) << 20}
	tapFile, addr, gw, err := benchTap(s, in)
	if err != nil {
		return nil, err
	}
	cmdline, err := workloadCmdline(t.root, s, addr, gw)
	if err != nil {
		if tapFile != nil {
			tapFile.Close()
		}
		return nil, err
	}
	args := append([]string{"boot", "--kernel", t.kernel, "--initrd", t.initrd}, t.root.flags(t.a.RootDisk)...)
	args = append(args, "--mem", fmt.Sprintf("%dM", s.MemMiB), "--cpus", fmt.Sprint(s.CPUs), "--virtio", t.transport, "--json", "--cmdline", cmdline)
	if tapFile != nil {
		args = append(args, "--net", "fd=3")
	}
	args = append(args, t.extra...)
	cmd := exec.Command(t.a.VMM, args...)
	if tapFile != nil {
		cmd.ExtraFiles = []*os.File{tapFile}
		defer tapFile.Close() // vmm holds its own copy
	}
	p, err := startProc(ctx, cmd, in)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t.name, err)
	}
	p.lateFn = func() []results.Phase { return vmmPhases(p.out.lastJSON(), in.Launched) }
	return in, nil
}

// benchTap is a tap on the bench's bridge for a VM of spec s, with the
// guest's address (CIDR) and gateway, and in.Addr set; nothing without
// s.Net.
func benchTap(s Spec, in *Instance) (*os.File, string, string, error) {
	if s.Net == nil {
		return nil, "", "", nil
	}
	tapFile, addr, err := s.Net.tap()
	if err != nil {
		return nil, "", "", err
	}
	in.Addr = addr
	return tapFile, fmt.Sprintf("%s/%d", addr, s.Net.Prefix().Bits()), s.Net.Gateway().String(), nil
}

// vmmPhases turns vmm's own timestamps (ms since its start) into phases
// since the bench launched it.
func vmmPhases(line string, launched time.Time) []results.Phase {
	r, err := runresult.Parse([]byte(line))
	if err != nil || r.StartNS == 0 {
		return nil
	}
	origin := ms(time.Unix(0, r.StartNS).Sub(launched))
	out := []results.Phase{{Name: "vmm start", MS: origin}, {Name: "machine built", MS: origin + r.SetupMS}, {Name: "first KVM_RUN", MS: origin + r.FirstRun}}
	if r.InputsMS > 0 {
		out = append(out, results.Phase{Name: "kernel+initrd read", MS: origin + r.InputsMS})
	}
	for _, step := range []struct{ key, name string }{{"load", "guest RAM loaded"}, {"prefetch", "working set read"}, {"state", "state restored"}} {
		if at, ok := r.Steps[step.key]; ok {
			out = append(out, results.Phase{Name: step.name, MS: origin + at})
		}
	}
	if r.Booted {
		out = append(out, results.Phase{Name: "init (boot timer)", MS: origin + r.BootMS})
	}
	return out
}

// qemuTarget boots the same kernel, initramfs, root disk and command line
// under QEMU's microvm machine with KVM: the peer VMM. Its disk is on
// virtio-mmio for both kernels (QEMU describes it to the guest in ACPI).
type qemuTarget struct {
	name, kernel string
	initrd       string // the initramfs ("" for none)
	root         rootDisk
	a            Assets
}

// newQEMU is the qemu target (minimal kernel) or qemu-stock (Debian's).
func newQEMU(a Assets, stock bool) Target {
	if stock {
		return &qemuTarget{name: results.TargetQEMUStock, kernel: a.StockKernel, initrd: a.StockInitrd, root: initrdRoot(), a: a}
	}
	return &qemuTarget{name: results.TargetQEMU, kernel: a.MicroKernel, root: diskRoot(), a: a}
}

func (t *qemuTarget) Name() string       { return t.name }
func (t *qemuTarget) Kind() results.Kind { return results.KindVM }
func (t *qemuTarget) Check() error {
	if t.a.QEMU == "" {
		return errors.New("qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)")
	}
	return kvmUsable()
}
func (t *qemuTarget) Version() string {
	return fmt.Sprintf("%s, kernel %s", commandVersion(t.a.QEMU, "-version"), kernelVersion(t.kernel))
}

func (t *qemuTarget) Launch(ctx context.Context, s Spec) (*Instance, error) {
	in := &Instance{GuestRAM: uint64(s.MemMiB) << 20}
	tapFile, addr, gw, err := benchTap(s, in)
	if err != nil {
		return nil, err
	}
	vm := qemuvm.Microvm{MemMiB: s.MemMiB, CPUs: s.CPUs, Kernel: t.kernel, Initrd: t.initrd, RootDisk: t.a.RootDisk,
		RNG: true /* the entropy device vmm gives every VM by default (--rng on) */}
	cmd := exec.Command(t.a.QEMU)
	if tapFile != nil {
		defer tapFile.Close() // QEMU holds its own copy
		cmd.ExtraFiles = []*os.File{tapFile}
		vm.TapFD, vm.MAC = 3, macOf(in.Addr)
	}
	marker := workload.Marker
	if img := t.a.OCI; img != nil {
		// the image's ext4 and initramfs, as the vmm targets boot them
		vm.Initrd, vm.RootDisk, marker = img.Initrd, img.Ext4, img.Ready.Log
		if t.name == results.TargetQEMUStock {
			vm.Initrd = img.StockInitrd
		}
		vm.Cmdline, err = imageCmdline(addr, gw)
	} else {
		vm.Cmdline, err = workloadCmdline(t.root, s, addr, gw)
	}
	if err != nil {
		return nil, err
	}
	cmd.Args = append(cmd.Args, vm.Args()...)
	if _, err := startProcFor(ctx, cmd, in, marker); err != nil {
		return nil, fmt.Errorf("%s: %w", t.name, err)
	}
	return in, nil
}

// macOf is a locally administered MAC address made of an IPv4 address
// on the bench's bridge (QEMU gives every guest the same one otherwise).
func macOf(a netip.Addr) string {
	b := a.As4()
	return fmt.Sprintf("52:54:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3])
}

// KVMUsable says why this host's KVM cannot run the VM targets, or nil:
// no /dev/kvm to open, or one on a CPU without VMX or SVM (kvm_pvm).
func KVMUsable() error {
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("no usable /dev/kvm here (%w)", err)
	}
	f.Close()
	if err := kvm.CheckHardware(); err != nil {
		return fmt.Errorf("/dev/kvm is here, but %w", err)
	}
	return nil
}

// kvmUsable is KVMUsable with what to do about it, for a target's Check.
func kvmUsable() error {
	if err := KVMUsable(); err != nil {
		return fmt.Errorf("%w (run make bench, which uses the nested lab)", err)
	}
	return nil
}

// commandVersion is the first line a program prints for its version flag.
func commandVersion(bin string, flag string) string {
	out, err := exec.Command(bin, flag).CombinedOutput()
	if err != nil && len(out) == 0 {
		return "unknown"
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line
}
