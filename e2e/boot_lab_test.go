package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vmmlab/vmm/devices/boottimer"
	"github.com/vmmlab/vmm/guestinit"
	"github.com/vmmlab/vmm/initramfs"
	"github.com/vmmlab/vmm/internal/kvmtest"
	"github.com/vmmlab/vmm/internal/netns"
	"github.com/vmmlab/vmm/internal/syncbuf"
	"github.com/vmmlab/vmm/lab/labenv"
	"github.com/vmmlab/vmm/runresult"
)

// testInit is /init of the inner guest: it reports what the guest sees,
// writes the boot timer, then ends as vmmtest.end= on the command line says.
const testInit = `#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t devtmpfs dev /dev
printf 'BOOTMAGIC' | dd of=/dev/port bs=1 seek=BOOTPORT count=1 2>/dev/null
echo "INIT-MARKER"
echo "CPUS=$(grep -c ^processor /proc/cpuinfo)"
echo "MEMTOTAL_KB=$(awk '/MemTotal/ {print $2}' /proc/meminfo)"
echo "CMDLINE=$(cat /proc/cmdline)"
case " $(cat /proc/cmdline) " in
*" vmmtest.stdin=1 "*) echo "READY-FOR-INPUT"; read -t 300 LINE; echo "GOT-LINE=$LINE" ;;
esac
case " $(cat /proc/cmdline) " in
*" vmmtest.end=reboot "*) reboot -f ;;
*) poweroff -f ;;
esac
sleep 1000
`

type lab struct {
	vmm, kernel, initrd string
}

func setup(t *testing.T) lab {
	t.Helper()
	kvmtest.Open(t)
	l := lab{vmm: kvmtest.File(t, labenv.EnvVMM), kernel: kvmtest.File(t, labenv.EnvKernel)}
	busybox := kvmtest.File(t, labenv.EnvBusybox)
	var a initramfs.Archive
	script := strings.NewReplacer("BOOTMAGIC", fmt.Sprintf("\\%03o", boottimer.MagicValue), "BOOTPORT", strconv.Itoa(boottimer.Port)).Replace(testInit)
	for _, err := range []error{
		a.AddFileFrom("bin/busybox", busybox),
		a.AddFile("init", 0o755, []byte(script)),
		a.AddCharDev("dev/console", 0o600, 5, 1),
		a.AddDir("proc", 0o755),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	l.initrd = filepath.Join(t.TempDir(), "initrd.gz")
	f, err := os.Create(l.initrd)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.WriteGzip(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return l
}

// cmdline keeps the guest quiet: every console byte is an exit, and in the
// lab each exit is emulated.
const cmdline = "console=ttyS0 quiet panic=-1 initcall_blacklist=i8042_init rdinit=/init"

type run struct {
	out    string // guest console
	stderr string
	code   int
	result runresult.Result // vmm's --json result (empty when it printed none)
	// timedOut: vmm was still running at the input's limit and was
	// stopped (its stop report is in stderr)
	timedOut bool
	// duringErr is what the input's during function returned: a check
	// beside the run, which fails the run (and the test, unless the run
	// is tried again after a known lab fault)
	duringErr error
}

// input is what to type on vmm's stdin (a pipe): each line once the guest
// console shows after again (a prompt) since the previous line, as a person
// would type. limit bounds the whole run (default 4 minutes).
type input struct {
	after string
	lines []string
	all   string // written at once at the start, then EOF (instead of lines)
	limit time.Duration
	// ns, when set, is the network namespace vmm starts in; files are
	// passed to it as fd 3, 4, ...; during runs beside vmm and may fail
	// the test (its context ends when vmm exits).
	ns     *netns.NS
	files  []*os.File
	during func(ctx context.Context, console *watchBuffer) error
}

// boot runs vmm with args and the given console input. A run that hit
// one of the nested lab's known faults (labFault), whether vmm ended or
// was stopped at the limit, is said in the log and tried again (up to labTries runs); a
// run still going at the limit then fails the test.
func (l lab) boot(t *testing.T, in input, args ...string) run {
	t.Helper()
	if in.limit == 0 {
		in.limit = 4 * time.Minute // under the lab's 5-minute idle watchdog
	}
	tr := startKVMTrace(t)
	r := retryLabFault(t, tr, "vmm boot", labTries, func() (run, string, bool) {
		r := l.bootOnce(t, tr, in, args...)
		return r, r.result.Detail + "\n" + r.out + "\n" + r.stderr, r.code != 0 || r.timedOut || r.duringErr != nil
	})
	if r.duringErr != nil {
		t.Errorf("while vmm ran: %v", r.duringErr)
	}
	if r.timedOut {
		t.Fatalf("vmm did not exit within %v\nconsole:\n%s\nstderr:\n%s", in.limit, r.out, r.stderr)
	}
	return r
}

// bootOnce is one vmm boot of boot. The outer kernel traces KVM's exits
// into tr while the VM runs: if the guest triple-faults or hangs, the
// exits that led to it go into the test's log.
func (l lab) bootOnce(t *testing.T, tr *kvmTrace, in input, args ...string) run {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), in.limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, l.vmm, append([]string{"boot", "--json"}, args...)...)
	// A vmm still running at the limit: what KVM saw its vCPUs do last
	// goes into the log before it is killed (a guest stuck without exits
	// looks different from one that spins or waits for an interrupt).
	// SIGTERM first, so that vmm's last line says how far it got (exits,
	// device failures); SIGKILL 10 s later if it does not end.
	cmd.Cancel = func() error {
		t.Logf("vmm is still running after %v; the outer kernel's last KVM events of its threads:\n%s", in.limit, tr.threadTail(cmd.Process.Pid, 40))
		return cmd.Process.Signal(syscall.SIGTERM)
	}
	cmd.WaitDelay = 10 * time.Second
	var errb bytes.Buffer
	out := &watchBuffer{}
	// Also streamed to the lab console as it happens: when the outer
	// kernel dies, the console log still shows how far the guest got.
	cmd.Stdout, cmd.Stderr = io.MultiWriter(out, os.Stdout), io.MultiWriter(&errb, os.Stdout)
	cmd.ExtraFiles = in.files
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if in.ns != nil {
		err = in.ns.Do(cmd.Start)
	} else {
		err = cmd.Start()
	}
	if err != nil {
		t.Fatal(err)
	}
	duringErr := make(chan error, 1)
	duringCtx, duringCancel := context.WithCancel(ctx)
	if in.during != nil {
		go func() { duringErr <- in.during(duringCtx, out) }()
	} else {
		duringErr <- nil
	}
	go func() {
		defer stdin.Close()
		if in.all != "" { // everything at once, then EOF: printf '...' | vmm boot
			io.WriteString(stdin, in.all)
			return
		}
		pos := 0
		for _, line := range in.lines {
			for !strings.Contains(out.String()[pos:], in.after) {
				if ctx.Err() != nil {
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
			time.Sleep(2 * time.Second)
			pos = len(out.String())
			io.WriteString(stdin, line+"\n")
		}
	}()
	err = cmd.Wait()
	duringCancel()
	r := run{out: out.String(), stderr: errb.String(), code: cmd.ProcessState.ExitCode(), timedOut: ctx.Err() != nil, duringErr: <-duringErr}
	r.result, _ = runresult.Parse([]byte(r.stderr)) // none: the checks on r say what went wrong
	t.Logf("vmm %q: exit %d after %v; result %v", args, r.code, time.Since(start).Round(time.Millisecond), r.result)
	return r
}

// watchBuffer collects output written by one goroutine for another.
type watchBuffer = syncbuf.Buffer

func field(t *testing.T, out, key string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + key + `=(.*?)\r?$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("guest printed no %s=; console:\n%s", key, out)
	}
	return m[1]
}

func checkGuest(t *testing.T, r run, cpus int, memMiB int, cmd string) {
	t.Helper()
	if !strings.Contains(r.out, "INIT-MARKER") {
		t.Fatalf("init marker not seen (exit %d); console:\n%s\nstderr:\n%s", r.code, r.out, r.stderr)
	}
	if got := field(t, r.out, "CPUS"); got != strconv.Itoa(cpus) {
		t.Errorf("guest sees %s CPUs, want %d", got, cpus)
	}
	kb, _ := strconv.Atoi(field(t, r.out, "MEMTOTAL_KB"))
	// The stock kernel keeps about 50 MiB for itself (image, memmap, ...).
	if lo, hi := (memMiB-64)*1024, memMiB*1024; kb < lo || kb > hi {
		t.Errorf("guest MemTotal %d KiB, want %d..%d (the requested %d MiB less kernel reservations)", kb, lo, hi, memMiB)
	}
	// vmm's input is a pipe here, so it asks the guest's shell to read it
	// line by line; the virtio-rng device (on by default) is on PCI, so
	// vmm asks Linux to scan the bus.
	if got, want := field(t, r.out, "CMDLINE"), cmd+" "+guestinit.LineInput+" pci=lastbus=1"; got != want {
		t.Errorf("guest /proc/cmdline %q, want %q", got, want)
	}
	if !r.result.Booted {
		t.Errorf("boot timer not written: %v", r.result)
	} else {
		t.Logf("boot time to init (boot timer): %.0f ms; vmm setup %.0f ms", r.result.BootMS, r.result.SetupMS)
	}
}

func TestBootOneCPUPowerOff(t *testing.T) {
	l := setup(t)
	cmd := cmdline + " vmmtest.stdin=1 vmmtest.end=poweroff"
	r := l.boot(t, input{after: "READY-FOR-INPUT", lines: []string{"hello from the host"}}, "--kernel", l.kernel, "--initrd", l.initrd, "--mem", "256M", "--cpus", "1", "--cmdline", cmd)
	checkGuest(t, r, 1, 256, cmd)
	if got := field(t, r.out, "GOT-LINE"); got != "hello from the host" {
		t.Errorf("guest read %q from its console, want the line vmm got on stdin", got)
	}
	if r.code != 0 || r.result.Reason != runresult.PowerOff {
		t.Errorf("poweroff -f: exit %d, result %v", r.code, r.result)
	}
}

func TestBootTwoCPUsReboot(t *testing.T) {
	l := setup(t)
	cmd := cmdline + " reboot=k vmmtest.end=reboot"
	r := l.boot(t, input{}, "--kernel", l.kernel, "--initrd", l.initrd, "--mem", "512M", "--cpus", "2", "--cmdline", cmd)
	checkGuest(t, r, 2, 512, cmd)
	if r.code != 0 || r.result.Reason != runresult.Reset {
		t.Errorf("reboot -f: exit %d, result %v", r.code, r.result)
	}
}

func TestBootCorruptKernel(t *testing.T) {
	l := setup(t)
	data, err := os.ReadFile(l.kernel)
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "bzImage")
	copy(data[0x202:], "XXXX") // break the HdrS magic
	if err := os.WriteFile(bad, data, 0o644); err != nil {
		t.Fatal(err)
	}
	r := l.boot(t, input{}, "--kernel", bad, "--initrd", l.initrd)
	if r.code != 1 || !strings.Contains(r.stderr, "not a Linux bzImage") || strings.Contains(r.stderr, "panic") {
		t.Errorf("corrupt kernel: exit %d, stderr %q", r.code, r.stderr)
	}
}
