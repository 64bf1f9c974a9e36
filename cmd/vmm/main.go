// Command vmm is the virtual machine monitor's command line: it parses
// flags and wires packages together; the work happens in those packages.
package main

import (
	"fmt"
	"io"
	"os"

	flag "github.com/spf13/pflag"

	"github.com/vmmlab/vmm/internal/cli"
)

type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"boot", "boot a Linux bzImage: vmm boot --kernel bzImage [--initrd FILE] [--mem 512M] [--cpus N]", runBoot},
		{"initramfs", "build an initramfs: vmm initramfs build -o FILE [--workload BIN] [--modules-from DIR] [--shell]", helper("vmm-tools", "initramfs")},
		{"container", "run a workload under an OCI runtime: vmm container run [--runtime crun|runc] [--mem 64M] [--cpus 0.5] -- CMD", helper("vmm-tools", "container")},
		{"restore", "go on with a VM from its snapshot: vmm restore DIR [--disk PATH[,ro] ...] [--net tap=NAME ...] [--api-sock PATH] [--json]", runRestore},
		{"ctl", "steer a running VM through its control API: vmm ctl --api-sock PATH status|pause|resume|snapshot DIR|stop", helper("vmm-tools", "ctl")},
		{"doctor", "list what this host can run: KVM, TAP, OCI runtimes, cgroups, namespaces, overlayfs", helper("vmm-tools", "doctor")},
		{"bench", "measure the same workload as microVMs and containers: vmm bench all|start|memory|density|compare|report", helper("vmm-bench")},
		{"version", "print the revision vmm was built from", runVersion},
		{"kvm-info", "show what this host's KVM offers (API version, capabilities, CPUID, MSRs)", runKVMInfo},
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: vmm COMMAND [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
}

func main() {
	os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
}

func dispatch(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "vmm: unknown command %q\n", args[0])
	usage(stderr)
	return 2
}

// parseFlags is cli.ParseFlags (kept short for the subcommands).
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) (int, bool) {
	return cli.ParseFlags(fs, args, stderr)
}
