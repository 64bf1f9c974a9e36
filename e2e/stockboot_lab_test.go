//go:build loadtest

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmmlab/vmm/bench"
	"github.com/vmmlab/vmm/boot/unpack"
	"github.com/vmmlab/vmm/guestinit"
	"github.com/vmmlab/vmm/internal/kvmtest"
	"github.com/vmmlab/vmm/internal/qemuvm"
	"github.com/vmmlab/vmm/lab/labenv"
)

// TestStockBootTimeline boots the Debian kernel with the same initramfs
// and command line (verbose) under vmm (virtio-pci and virtio-mmio) and
// under QEMU's microvm, in turns, and logs every console line with the
// host's time since launch beside the kernel's own timestamp. It is an
// experiment, not a regression test: it shows where the Debian kernel's
// boot spends its time under each VMM (how long before the kernel's
// first line, that is its loading and decompression; which stretches of
// the kernel's log differ).
func TestStockBootTimeline(t *testing.T) {
	l := kernelOnly(t)
	image := kvmtest.File(t, labenv.EnvWorkloadInitramfs)
	qemu, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		t.Fatal("qemu-system-x86_64 is not in the outer guest")
	}
	bz, err := os.ReadFile(l.kernel)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	elf, err := unpack.Vmlinux(bz)
	if err != nil {
		t.Fatal(err)
	}
	vmlinux := filepath.Join(t.TempDir(), "vmlinux")
	if err := os.WriteFile(vmlinux, elf, 0o644); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("TestStockBootTimeline: unpacked %d bytes of kernel on the host in %.3f s\n", len(elf), time.Since(t0).Seconds())
	cmdline := "console=ttyS0 quiet panic=-1 reboot=k " + taskParams(guestinit.Task{Run: "/bin/testworkload", Args: []string{"0"}})
	boots := map[string]func(ctx context.Context) *exec.Cmd{
		"vmm-pci": func(ctx context.Context) *exec.Cmd {
			return exec.CommandContext(ctx, l.vmm, "boot", "--kernel", l.kernel, "--initrd", image, "--mem", "256M", "--virtio", "pci", "--trace-exits", "--cmdline", cmdline)
		},
		"vmm-mmio": func(ctx context.Context) *exec.Cmd {
			return exec.CommandContext(ctx, l.vmm, "boot", "--kernel", l.kernel, "--initrd", image, "--mem", "256M", "--virtio", "mmio", "--trace-exits", "--cmdline", cmdline)
		},
		"vmm-pvh": func(ctx context.Context) *exec.Cmd {
			return exec.CommandContext(ctx, l.vmm, "boot", "--kernel", vmlinux, "--initrd", image, "--mem", "256M", "--virtio", "pci", "--trace-exits", "--cmdline", cmdline)
		},
		"qemu": func(ctx context.Context) *exec.Cmd {
			return exec.CommandContext(ctx, qemu, qemuvm.Microvm{MemMiB: 256, Kernel: l.kernel, Initrd: image, Cmdline: cmdline, RNG: true}.Args()...)
		},
	}
	for round := range 3 {
		for _, who := range []string{"vmm-pci", "vmm-pvh", "qemu"} {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			cmd := boots[who](ctx)
			pr, pw := io.Pipe()
			cmd.Stdout, cmd.Stderr = pw, pw
			start := time.Now()
			if err := cmd.Start(); err != nil {
				cancel()
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait(); pw.Close() }()
			var b strings.Builder
			sc := bufio.NewScanner(pr)
			sc.Buffer(make([]byte, 1<<20), 1<<20)
			for sc.Scan() {
				fmt.Fprintf(&b, "%8.3f %s\n", time.Since(start).Seconds(), sc.Text())
			}
			err := <-done
			cancel()
			hello := "no WORKLOAD-HELLO"
			for _, line := range strings.Split(b.String(), "\n") {
				if strings.Contains(line, "WORKLOAD-HELLO") {
					hello = "WORKLOAD-HELLO at " + strings.Fields(line)[0] + " s"
				}
			}
			fmt.Printf("TestStockBootTimeline: round %d %s: %s, ended at %.3f s, %v\n", round, who, hello, time.Since(start).Seconds(), err)
			t.Logf("round %d, %s (%v):\n%s", round, who, err, b.String())
		}
	}
}

// TestOwnMemoryTimeline boots the minimal kernel with a sleeping
// workload and samples vmm's own resident memory as the bench counts it
// (bench.ReadSmaps, SplitGuest: its binary's mappings, and the rest but
// guest RAM) every 250 ms for 20 s:
// it shows when vmm drops its binary's pages (internal/selfmem) and how
// fast an idle VM's vmm touches them again.
func TestOwnMemoryTimeline(t *testing.T) {
	l := kernelOnly(t)
	micro := kvmtest.File(t, labenv.EnvMicroKernel)
	image := kvmtest.File(t, labenv.EnvWorkloadInitramfs)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, l.vmm, "boot", "--kernel", micro, "--initrd", image, "--mem", "128M",
		"--cmdline", testWorkload("sleep", "25"))
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for time.Since(start) < 20*time.Second {
		time.Sleep(250 * time.Millisecond)
		ms, err := bench.ReadSmaps(cmd.Process.Pid)
		if err != nil {
			break
		}
		// vmm's own mappings as the bench counts them: its binary, and
		// everything else but guest RAM.
		_, own := bench.SplitGuest(ms, 128<<20)
		bin, other := 0, 0
		for _, m := range own {
			if m.Name == l.vmm {
				bin += int(m.Rss >> 10)
			} else {
				other += int(m.Rss >> 10)
			}
		}
		fmt.Printf("TestOwnMemoryTimeline: %5.2f s binary %5d KiB other %5d KiB\n", time.Since(start).Seconds(), bin, other)
	}
	cancel()
	cmd.Wait()
	t.Logf("console:\n%s", out.String())
}
