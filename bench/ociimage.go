package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/vmmlab/vmm/bench/results"
	"github.com/vmmlab/vmm/container"
	"github.com/vmmlab/vmm/guestinit"
)

// OCIImage is an OCI image the start benchmark runs instead of a
// workload (vmm bench start --oci-image): the same process on every
// target, the VMs on the image's ext4, the containers on its layers.
type OCIImage struct {
	Name string // as the user named it
	ID   string // sha256:HEX of its config: Docker's image ID too
	// Tarball is the image file the user named, which docker loads
	// ("" for a name in vmm's store: docker cannot run it).
	Tarball string
	Ext4    string // the VMs' read-only root disk (store.Ext4)
	Layers  []string
	Process specs.Process
	Args    []string // --oci-cmd: replaces the image's Cmd
	// Initrd is the minimal kernel's initramfs: vmm-init and the process
	// (/vmm/process.json); StockInitrd is the Debian kernel's initramfs
	// with the process appended.
	Initrd, StockInitrd string
	// Ready says when the process is ready (--ready).
	Ready Ready
	// Workload names the bench workload this image packs (--app
	// workload:NAME), "" for any other image: its start is then compared
	// with the same workload from the bench image, in the same rounds.
	Workload string
}

// errNoImage is a target's Check when it cannot run an OCI image yet.
func errNoImage(target string) error {
	return fmt.Errorf("--oci-image: %s does not run OCI images yet", target)
}

// imageCmdline is the kernel command line of an image's VM: the
// bench's, then vmm-init's task: the ext4 as the lower layer of an
// overlay root over a tmpfs, and the address on the bench's bridge when
// it has one (addr "").
func imageCmdline(addr, gw string) (string, error) {
	task := guestinit.Task{Root: &guestinit.Mount{Source: "/dev/vda", FSType: "ext4"}, Upper: guestinit.UpperTmpfs("64M"), Hostname: "vmmbench"}
	if err := setAddress(&task, addr, gw); err != nil {
		return "", err
	}
	params, err := task.Cmdline()
	if err != nil {
		return "", err
	}
	return guestCmdline + " " + params, nil
}

// imageRoot mounts the image's layers under an upper directory of the
// instance's own at dir/id, where rt sees mounts, and returns the
// overlay and how to remove it.
func imageRoot(rt *container.Runtime, dir, id string, layers []string) (*container.Overlay, func() error, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, err
	}
	var ov *container.Overlay
	err := rt.InMountNS(func() error {
		var err error
		ov, err = container.MountOverlay(filepath.Join(dir, id), layers, false)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return ov, func() error { return rt.InMountNS(ov.Remove) }, nil
}

// checkImage is the Check of a target that runs images only as VMs or
// containers: nil without an image.
func checkImage(a Assets, target string, runs bool) error {
	if a.OCI != nil && !runs {
		return errNoImage(target)
	}
	return nil
}

// launchImage boots the image's process: the VM target's kernel with the
// image's initramfs (vmm-init and the process) and its ext4 under an
// overlay root; a log condition is the process's ready line on the
// console, where vmm-init puts its output when no vsock streams are
// offered; a network one is the caller's to probe.
func (t *vmmTarget) launchImage(ctx context.Context, s Spec) (*Instance, error) {
	img := t.a.OCI
	initrd := img.Initrd
	if t.name == results.TargetVMStock {
		initrd = img.StockInitrd
	}
	in := &Instance{GuestRAM: uint64(s.MemMiB) << 20}
	tapFile, addr, gw, err := benchTap(s, in)
	if err != nil {
		return nil, err
	}
	if tapFile != nil {
		defer tapFile.Close() // vmm holds its own copy
	}
	cmdline, err := imageCmdline(addr, gw)
	if err != nil {
		return nil, err
	}
	args := append([]string{"boot", "--kernel", t.kernel, "--initrd", initrd, "--disk", img.Ext4 + ",ro", "--mem", fmt.Sprintf("%dM", s.MemMiB),
		"--cpus", fmt.Sprint(s.CPUs), "--virtio", t.transport, "--json", "--cmdline", cmdline}, t.extra...)
	if tapFile != nil {
		args = append(args, "--net", "fd=3")
	}
	cmd := exec.Command(t.a.VMM, args...)
	if tapFile != nil {
		cmd.ExtraFiles = []*os.File{tapFile}
	}
	p, err := startProcFor(ctx, cmd, in, img.Ready.Log)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t.name, err)
	}
	p.lateFn = func() []results.Phase { return vmmPhases(p.out.lastJSON(), in.Launched) }
	return in, nil
}
