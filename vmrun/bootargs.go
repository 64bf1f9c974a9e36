package vmrun

import (
	"fmt"
	"strings"

	"github.com/vmmlab/vmm/guestinit"
)

// kernelCmdline is the guest kernel's own part of the command line:
// serial console, quiet (the console is not the process's output), no
// reboot loop on a panic.
const kernelCmdline = "console=ttyS0 quiet panic=-1 reboot=k"

// guestCID is the VM's vsock address (each VM has its own device, so
// every VM may use the same).
const guestCID = 3

// files are where a run keeps its files (in its own directory).
type files struct {
	initrd, vsock string
}

// bootArgs is the vmm boot command line for cfg.
func bootArgs(cfg Config, f files) ([]string, error) {
	task := guestinit.Task{Root: &guestinit.Mount{Source: "/dev/vda", FSType: "ext4"}, Hostname: cfg.Hostname,
		Upper: guestinit.UpperTmpfs(cfg.Scratch)}
	if cfg.ScratchDisk != "" {
		task.Upper = "/dev/vdb"
	}
	if cfg.Net != nil {
		task.IP, task.GW = cfg.Net.Addr, cfg.Net.Gateway
	}
	params, err := task.Cmdline()
	if err != nil {
		return nil, err
	}
	args := []string{"boot", "--kernel", cfg.Kernel, "--initrd", f.initrd, "--disk", cfg.Disk + ",ro",
		"--mem", cfg.Mem, "--cpus", fmt.Sprint(cfg.CPUs), "--virtio", cfg.Virtio,
		"--vsock", fmt.Sprintf("cid=%d,uds=%s", guestCID, f.vsock), "--json",
		"--cmdline", strings.Join([]string{kernelCmdline, params}, " ")}
	if cfg.ScratchDisk != "" {
		args = append(args, "--disk", cfg.ScratchDisk)
	}
	if cfg.Net != nil {
		args = append(args, "--net", "fd=3") // Run passes the tap as the first extra file
	}
	return append(args, cfg.Extra...), nil
}
