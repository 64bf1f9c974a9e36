package e2e

import (
	"github.com/vmmlab/vmm/lab/labenv"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vmmlab/vmm/guestinit"
	"github.com/vmmlab/vmm/internal/kvmtest"
	"github.com/vmmlab/vmm/runresult"
)

// cmdlineNoRdinit is cmdline for images whose /init is vmm-init.
const cmdlineNoRdinit = "console=ttyS0 quiet panic=-1 initcall_blacklist=i8042_init"

// testWorkload is the command line (cmdlineNoRdinit) on which vmm-init
// runs the test workload with args.
func testWorkload(args ...string) string {
	return withTask(guestinit.Task{Run: "/bin/testworkload", Args: args})
}

// withTask is cmdlineNoRdinit with the guest init's task, built by
// guestinit (which reads it). A task a command line cannot carry is a
// mistake in the test.
func withTask(task guestinit.Task) string {
	return cmdlineNoRdinit + " " + taskParams(task)
}

// taskParams is the guest init's task as vmm.* parameters.
func taskParams(task guestinit.Task) string {
	line, err := task.Cmdline()
	if err != nil {
		panic(err)
	}
	return line
}

// mountedAt is the mount of the first disk at target.
func mountedAt(target string) []guestinit.Mount {
	return []guestinit.Mount{{Source: "/dev/vda", Target: target}}
}

func kernelOnly(t *testing.T) lab {
	t.Helper()
	kvmtest.Open(t)
	return lab{vmm: kvmtest.File(t, labenv.EnvVMM), kernel: kvmtest.File(t, labenv.EnvKernel)}
}

// Without --initrd, vmm boot uses the default image (beside the vmm
// binary): the guest lands in u-root's shell, which runs what we type.
func TestDefaultInitramfsShell(t *testing.T) {
	l := kernelOnly(t)
	// All lines at once, before the shell is up: vmm's input is a pipe,
	// so the guest reads it line by line and loses none (gosh's line
	// editor, used on a terminal, swallowed input typed before its prompt).
	in := input{all: "cat /proc/sys/kernel/ostype\nlsmod\npoweroff\n", limit: 3 * time.Minute}
	r := l.boot(t, in,
		"--kernel", l.kernel, "--mem", "512M", "--cmdline", cmdlineNoRdinit)
	if r.code != 0 || r.result.Reason != runresult.PowerOff {
		t.Fatalf("exit %d, result %v\nconsole:\n%s\nstderr:\n%s", r.code, r.result, r.out, r.stderr)
	}
	// The line editor decorates the console with escape sequences.
	plain := regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x1b\a]*(\x1b\\|\a)`).ReplaceAllString(r.out, "")
	if !regexp.MustCompile(`(?m)^Linux\r?$`).MatchString(plain) {
		t.Errorf("the shell did not run `cat /proc/sys/kernel/ostype`; console:\n%s", plain)
	}
	for _, m := range []string{"virtio_pci", "virtio_blk", "virtio_net"} {
		if !regexp.MustCompile(`(?m)^` + m + ` `).MatchString(plain) {
			t.Errorf("lsmod does not list %s; console:\n%s", m, r.out)
		}
	}
	if !r.result.Booted {
		t.Errorf("vmm-init did not write the boot timer: %v", r.result)
	}
}

// Piped input is never dropped: printf 'uname -r\npoweroff\n' | vmm boot
// prints the guest kernel's release and exits 0.
func TestPipedInput(t *testing.T) {
	l := kernelOnly(t)
	r := l.boot(t, input{all: "uname -r\npoweroff\n", limit: 3 * time.Minute}, "--kernel", l.kernel, "--mem", "256M",
		"--cmdline", cmdlineNoRdinit)
	if r.code != 0 || r.result.Reason != runresult.PowerOff || !regexp.MustCompile(`(?m)^6\.[0-9]+\.[0-9]+-[0-9]+-amd64\r?$`).MatchString(r.out) {
		t.Fatalf("exit %d, result %v\nconsole:\n%s", r.code, r.result, r.out)
	}
}

// With a workload, its output reaches the console, and vmm exits with the
// workload's exit status once the guest powers off.
func TestWorkloadInitramfs(t *testing.T) {
	l := kernelOnly(t)
	image := kvmtest.File(t, labenv.EnvWorkloadInitramfs)
	cmd := testWorkload("7", "second")
	r := l.boot(t, input{}, "--kernel", l.kernel, "--initrd", image, "--mem", "256M", "--cmdline", cmd)
	if !strings.Contains(r.out, `WORKLOAD-HELLO args=["7" "second"]`) {
		t.Fatalf("workload output missing (exit %d); console:\n%s\nstderr:\n%s", r.code, r.out, r.stderr)
	}
	mods := field(t, r.out, "WORKLOAD-MODULES")
	for _, m := range []string{"virtio_pci", "virtio_blk", "virtio_net", "net_failover"} {
		if !strings.Contains(mods, m) {
			t.Errorf("module %s not loaded in the guest: %s", m, mods)
		}
	}
	if r.code != 7 || r.result.Status == nil || *r.result.Status != 7 {
		t.Errorf("exit %d, result %v; want the workload's status 7", r.code, r.result)
	}
	t.Logf("boot to workload: boot timer %.0f ms", r.result.BootMS)
}
