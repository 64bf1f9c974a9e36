// Command vmm-tools is the part of vmm's command line that does not run a
// VM: `vmm container`, `vmm initramfs`, `vmm doctor` and `vmm ctl`, and the
// unpacking of a bzImage for `vmm boot --unpack-kernel`. vmm execs it
// (installed beside vmm), so that the vmm binary every VM process maps
// holds only what a VM needs: the OCI runtime spec, netlink, the cpio
// writer and crypto live here instead (they made vmm 40% larger).
package main

import (
	"fmt"
	"io"
	"os"
)

type command struct {
	name string
	run  func(args []string, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{{"container", runContainer}, {"initramfs", runInitramfs}, {"doctor", runDoctor}, {"ctl", runCtl}, {"unpack-kernel", runUnpackKernel}}
}

func main() {
	os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
}

func dispatch(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		for _, c := range commands() {
			if c.name == args[0] {
				return c.run(args[1:], stdout, stderr)
			}
		}
	}
	fmt.Fprintln(stderr, "usage: vmm-tools container|initramfs|doctor|ctl|unpack-kernel ... (run them as vmm container, vmm initramfs, vmm doctor, vmm ctl; vmm boot --unpack-kernel runs unpack-kernel)")
	return 2
}
