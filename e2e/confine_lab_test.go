package e2e

import (
	"encoding/json"
	"fmt"
	"github.com/vmmlab/vmm/lab/labenv"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vmmlab/vmm/api/apiclient"
	"github.com/vmmlab/vmm/internal/kvmtest"
)

// A confined vmm: once the machine is built it runs as nobody, chrooted
// into an empty directory, with no capabilities and the seccomp filter
// on, and the guest still boots; SIGTERM still ends it.
func TestConfinedVM(t *testing.T) {
	l := kernelOnly(t)
	micro := kvmtest.File(t, labenv.EnvMicroKernel)
	image := kvmtest.File(t, labenv.EnvWorkloadInitramfs)
	root := t.TempDir()
	os.Chmod(root, 0o755)
	p := startUntil(t, l.vmm, "SLEEPING", 3*time.Minute, "boot", "--kernel", micro, "--initrd", image, "--mem", "128M",
		"--uid", "65534", "--gid", "65534", "--chroot", root,
		"--cmdline", testWorkload("sleep", "120"))
	defer p.stop()
	cmd := p.cmd
	status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	for _, want := range []string{"Uid:\t65534\t65534\t65534\t65534", "Gid:\t65534\t65534\t65534\t65534", "CapEff:\t0000000000000000",
		"CapPrm:\t0000000000000000", "Seccomp:\t2", "NoNewPrivs:\t1"} {
		if !strings.Contains(string(status), want) {
			t.Errorf("/proc/PID/status lacks %q:\n%s", want, status)
		}
	}
	if r, _ := os.Readlink(fmt.Sprintf("/proc/%d/root", cmd.Process.Pid)); r != root {
		t.Errorf("vmm's root is %q, want the chroot %q", r, root)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if !p.exits(time.Minute) {
		t.Fatalf("a confined vmm did not end on SIGTERM\n%s", p.output())
	}
	if !strings.Contains(p.output(), "stopped by the host") {
		t.Errorf("vmm did not report the stop:\n%s", p.output())
	}
}

// A guest that floods a console nobody reads (a stalled pipe) cannot
// wedge vmm: its vCPU never blocks on the host's stdout, and SIGTERM ends
// it. Before, the vCPU sat in write(2) and only SIGKILL helped.
func TestStalledConsole(t *testing.T) {
	l := kernelOnly(t)
	micro := kvmtest.File(t, labenv.EnvMicroKernel)
	image := kvmtest.File(t, labenv.EnvWorkloadInitramfs)
	// One run: vmm with its console into a one-page pipe nobody reads.
	// The guest boots and floods: the run waits until it has sent four
	// times what the pipe holds, by vmm's own count of console writes (its
	// API). A fixed wait was too short for the boot once under load; a
	// vCPU stuck in write(2) never gets there. A run whose guest hit one
	// of the nested lab's known faults runs again (retryLabFault).
	type flood struct {
		p    *vmmProc
		r    *os.File // the pipe's unread end, open while vmm runs
		sent uint64
	}
	f := retryLabFault(t, startKVMTrace(t), "vmm boot (flood)", labTries, func() (flood, string, bool) {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		// A one-page pipe fills after 4 KiB: before the fix the vCPU then
		// sat in write(2); now its output goes on into vmm's own buffer.
		if _, err := unix.FcntlInt(w.Fd(), unix.F_SETPIPE_SZ, 4096); err != nil {
			t.Fatal(err)
		}
		sock := filepath.Join(t.TempDir(), "api.sock")
		p := newVMMProc(l.vmm, "boot", "--kernel", micro, "--initrd", image, "--mem", "128M", "--json", "--api-sock", sock,
			"--cmdline", testWorkload("flood", "600"))
		p.cmd.Stdout = w
		p.start(t, nil)
		w.Close()
		api := apiclient.New(sock, 10*time.Second)
		var sent uint64
		flooded := p.waitFor("machine ready", time.Minute) &&
			p.until(3*time.Minute, time.Second, func() bool { sent = consoleBytes(api); return sent >= 4*4096 })
		if !flooded {
			p.stop()
			r.Close()
		}
		return flood{p, r, sent}, p.output(), !flooded
	})
	p := f.p
	if f.sent < 4*4096 {
		t.Fatalf("the guest had sent %d console bytes into a 4 KiB pipe nobody read when the wait ended (3 minutes, or vmm's end); want it to go on past the full pipe\n%s",
			f.sent, p.tail())
	}
	defer f.r.Close() // never read
	start := time.Now()
	p.cmd.Process.Signal(syscall.SIGTERM)
	if !p.exits(30 * time.Second) {
		t.Fatalf("vmm did not end within 30 s of SIGTERM with its console stalled\n%s", p.stderr.String())
	}
	t.Logf("vmm ended %v after SIGTERM (lab time)", time.Since(start).Round(time.Millisecond))
	stderr := p.stderr.String()
	if !strings.Contains(stderr, `"booted":true`) || !strings.Contains(stderr, `"reason":"interrupted"`) {
		t.Errorf("the guest did not boot and run until SIGTERM:\n%s", stderr)
	}
	var res struct {
		Exits map[string]uint64 `json:"exits"`
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	json.Unmarshal([]byte(lines[len(lines)-1]), &res)
	if sent := res.Exits["io 0x3f8"]; sent < 3*4096 {
		t.Errorf("the guest sent %d console bytes into a 4 KiB pipe nobody read; want it to go on past the full pipe", sent)
	} else {
		t.Logf("the guest went on sending: %d bytes into a 4 KiB pipe nobody read", sent)
	}
}

// consoleBytes is how many bytes the guest wrote to its serial console's
// data port so far, by the VM's API (0 while it does not answer).
func consoleBytes(api *apiclient.Client) uint64 {
	st, err := api.Status()
	if err != nil {
		return 0
	}
	return st.Exits["io 0x3f8"]
}
