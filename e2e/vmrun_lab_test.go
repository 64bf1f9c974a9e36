package e2e

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vmmlab/vmm/internal/kvmtest"
	"github.com/vmmlab/vmm/lab/labenv"
)

// busyboxRootfs writes a root file system tarball of the lab's static
// busybox (its applets as symlinks) with a user "app" (1000:1000), as a
// user would export one, and returns its path.
func busyboxRootfs(t *testing.T) string {
	t.Helper()
	bb, err := os.ReadFile(kvmtest.File(t, labenv.EnvBusybox))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(h *tar.Header, data []byte) {
		h.Size = int64(len(data))
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write(data)
	}
	for _, d := range []string{"bin", "etc", "tmp", "home", "home/app"} {
		add(&tar.Header{Name: d + "/", Typeflag: tar.TypeDir, Mode: 0o755}, nil)
	}
	add(&tar.Header{Name: "bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755}, bb)
	for _, applet := range []string{"sh", "cat", "echo", "id", "pwd", "hostname", "sleep", "test", "touch"} {
		add(&tar.Header{Name: "bin/" + applet, Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777}, nil)
	}
	add(&tar.Header{Name: "etc/passwd", Typeflag: tar.TypeReg, Mode: 0o644}, []byte("root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n"))
	add(&tar.Header{Name: "etc/group", Typeflag: tar.TypeReg, Mode: 0o644}, []byte("root:x:0:\napp:x:1000:\n"))
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "busybox-rootfs.tar")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// vmmRun is one `vmm run` and what it printed.
type vmmRun struct {
	code           int
	stdout, stderr string
	report         struct {
		Ext4Cached bool   `json:"image_ext4_cached"`
		Hostname   string `json:"hostname"`
		ExitCode   int    `json:"exit_code"`
	}
}

// runImage runs `vmm run --json ARGS` with stdin, at most 4 minutes, and
// again after one of the nested lab's known faults.
func runImage(t *testing.T, tr *kvmTrace, vmm, store, stdin string, args ...string) vmmRun {
	t.Helper()
	// --json: a VM lost to one of the nested lab's known faults says so
	// in its result (package runresult), and the run goes again.
	return retryLabFault(t, tr, fmt.Sprintf("vmm run %v", args), labTries, func() (vmmRun, string, bool) {
		r := runImageOnce(t, vmm, store, stdin, append([]string{"--json"}, args...)...)
		return r, r.stderr, r.code == 125
	})
}

// runImageOnce runs `vmm run ARGS` once.
func runImageOnce(t *testing.T, vmm, store, stdin string, args ...string) vmmRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, vmm, append([]string{"run"}, args...)...)
	cmd.Env = append(os.Environ(), "VMM_STORE="+store)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := vmmRun{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
	if ctx.Err() != nil {
		t.Fatalf("vmm run %v: %v after 4 minutes; stderr:\n%s", args, err, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	json.Unmarshal([]byte(lines[len(lines)-1]), &r.report)
	return r
}

// vmm run: an image's process in a microVM, on the minimal kernel and
// on the Debian kernel (whose initramfs loads overlay and the virtio
// modules): its status, its streams kept apart and byte-exact, its
// environment, user and directory, a root of its own, stdin with -i,
// a terminal with -t, 127 for a missing program, and SIGTERM relayed to
// it.
func TestVMMRunImage(t *testing.T) {
	kvmtest.Open(t)
	vmm := kvmtest.File(t, labenv.EnvVMM)
	debian := kvmtest.File(t, labenv.EnvKernel)
	tr := startKVMTrace(t)
	store := t.TempDir()
	imp := exec.Command(vmm, "image", "import", busyboxRootfs(t), "--name", "vmm.local/busybox-lab")
	imp.Env = append(os.Environ(), "VMM_STORE="+store)
	if out, err := imp.CombinedOutput(); err != nil {
		t.Fatalf("vmm image import: %v: %s", err, out)
	}
	img := "vmm.local/busybox-lab"

	first := runImage(t, tr, vmm, store, "", "--json", img, "--", "sh", "-c", "printf 'out\\r\\n'; echo err >&2; echo x > /written; exit 7")
	if first.code != 7 || first.stdout != "out\r\n" || !strings.HasPrefix(first.stderr, "err\n") || first.report.Ext4Cached {
		t.Errorf("first run: exit %d, stdout %q, report %+v, stderr:\n%s", first.code, first.stdout, first.report, first.stderr)
	}
	second := runImage(t, tr, vmm, store, "", "--json", "--name", "lab-vm", "-e", "GREETING=hi", "-u", "app", "-w", "/work", img, "--",
		"sh", "-c", `echo "$GREETING $(id -u):$(id -g) $(pwd) $(hostname) $HOME"; test -e /written && echo seen || echo unseen`)
	if want := "hi 1000:1000 /work lab-vm /home/app\nunseen\n"; second.code != 0 || second.stdout != want || !second.report.Ext4Cached {
		t.Errorf("second run: exit %d, stdout %q (want %q), report %+v, stderr:\n%s", second.code, second.stdout, want, second.report, second.stderr)
	}
	if r := runImage(t, tr, vmm, store, "piped input\n", "-i", img, "cat"); r.code != 0 || r.stdout != "piped input\n" {
		t.Errorf("-i: exit %d, stdout %q, stderr:\n%s", r.code, r.stdout, r.stderr)
	}
	// -t: the process has a terminal; its output comes on stdout alone
	if r := runImage(t, tr, vmm, store, "", "-t", img, "--", "sh", "-c", "test -t 0 && test -t 1 && echo on-a-tty; echo to-stderr >&2; exit 4"); r.code != 4 ||
		!strings.Contains(r.stdout, "on-a-tty") || !strings.Contains(r.stdout, "to-stderr") {
		t.Errorf("-t: exit %d, stdout %q, stderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if r := runImage(t, tr, vmm, store, "", img, "no-such-program"); r.code != 127 || !strings.Contains(r.stderr, "no-such-program") {
		t.Errorf("missing program: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if r := runImage(t, tr, vmm, store, "", "--kernel", debian, "--initrd", filepath.Join(filepath.Dir(vmm), "initramfs.cpio.gz"), img, "--", "sh", "-c", "echo debian; exit 3"); r.code != 3 || r.stdout != "debian\n" {
		t.Errorf("Debian kernel: exit %d, stdout %q, stderr:\n%s", r.code, r.stdout, r.stderr)
	}
	t.Run("SIGTERM", func(t *testing.T) { checkStopSignal(t, vmm, store, img) })
}

// checkStopSignal: SIGTERM to vmm run reaches the process, whose trap
// decides the status.
func checkStopSignal(t *testing.T, vmm, store, img string) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, vmm, "run", "--stop-timeout", "60", img, "--", "sh", "-c", `trap "exit 42" TERM; echo ready; while :; do sleep 1; done`)
	cmd.Env = append(os.Environ(), "VMM_STORE="+store)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	if line != "ready\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("before the signal: %q; stderr:\n%s", line, stderr.String())
	}
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 42 {
		t.Errorf("after SIGTERM: exit %d, want the trap's 42; stderr:\n%s", code, stderr.String())
	}
}
