// Command vmm-tools is the part of vmm's command line that does not run a
// VM: `vmm container`, `vmm image`, `vmm initramfs`, `vmm doctor` and
// `vmm ctl`, and the unpacking of a bzImage for `vmm boot
// --unpack-kernel`. vmm execs it (installed beside vmm), so that the vmm
// binary every VM process maps holds only what a VM needs: the OCI
// runtime spec and image code, netlink, the cpio writer and crypto live
// here instead (they made vmm 40% larger).
package main

import (
	"io"
	"os"

	"github.com/vmmlab/vmm/internal/cli"
)

func commands() cli.Commands {
	return cli.Commands{Prog: "vmm-tools",
		Usage: "usage: vmm-tools run|container|image|initramfs|doctor|ctl|unpack-kernel ... (run them as vmm run, vmm container, vmm image, vmm initramfs, vmm doctor, vmm ctl; vmm boot --unpack-kernel runs unpack-kernel)",
		List: []cli.Command{{Name: "run", Run: runRun}, {Name: "container", Run: runContainer}, {Name: "image", Run: runImage}, {Name: "initramfs", Run: runInitramfs}, {Name: "doctor", Run: runDoctor},
			{Name: "ctl", Run: runCtl}, {Name: "unpack-kernel", Run: runUnpackKernel}}}
}

func main() {
	os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
}

func dispatch(args []string, stdout, stderr io.Writer) int {
	return commands().Dispatch(args, stdout, stderr)
}
