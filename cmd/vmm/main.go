// Command vmm is the virtual machine monitor's command line: it parses
// flags and wires packages together; the work happens in those packages.
package main

import (
	"io"
	"os"

	flag "github.com/spf13/pflag"

	"github.com/vmmlab/vmm/internal/cli"
)

func commands() cli.Commands {
	return cli.Commands{Prog: "vmm", Usage: "usage: vmm COMMAND [flags]", List: []cli.Command{
		{Name: "boot", Summary: "boot a Linux bzImage: vmm boot --kernel bzImage [--initrd FILE] [--mem 512M] [--cpus N]", Run: runBoot},
		{Name: "initramfs", Summary: "build an initramfs: vmm initramfs build -o FILE [--workload BIN] [--modules-from DIR] [--shell]", Run: helper("vmm-tools", "initramfs")},
		{Name: "run", Summary: "run an OCI image's process in a microVM: vmm run [--mem 256M] [-e K=V] [-u USER] [-w DIR] [-i] IMAGE [ARG...]", Run: helper("vmm-tools", "run")},
		{Name: "image", Summary: "keep OCI images: vmm image import FILE|DIR [--name NAME] [--replace] | ls [--json] | inspect NAME | rm NAME", Run: helper("vmm-tools", "image")},
		{Name: "container", Summary: "run a workload under an OCI runtime: vmm container run [--runtime crun|runc] [--mem 64M] [--cpus 0.5] -- CMD", Run: helper("vmm-tools", "container")},
		{Name: "restore", Summary: "go on with a VM from its snapshot: vmm restore DIR [--disk PATH[,ro] ...] [--net tap=NAME ...] [--api-sock PATH] [--json]", Run: runRestore},
		{Name: "ctl", Summary: "steer a running VM through its control API: vmm ctl --api-sock PATH status|pause|resume|snapshot DIR|working-set|stop", Run: helper("vmm-tools", "ctl")},
		{Name: "doctor", Summary: "list what this host can run: KVM, TAP, OCI runtimes, cgroups, namespaces, overlayfs", Run: helper("vmm-tools", "doctor")},
		{Name: "bench", Summary: "measure the same workload as microVMs and containers: vmm bench all|start|memory|density|compare|report", Run: helper("vmm-bench")},
		{Name: "version", Summary: "print the revision vmm was built from", Run: runVersion},
		{Name: "kvm-info", Summary: "show what this host's KVM offers (API version, capabilities, CPUID, MSRs)", Run: runKVMInfo},
	}}
}

func main() {
	os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
}

func dispatch(args []string, stdout, stderr io.Writer) int {
	return commands().Dispatch(args, stdout, stderr)
}

// parseFlags is cli.ParseFlags (kept short for the subcommands).
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) (int, bool) {
	return cli.ParseFlags(fs, args, stderr)
}
