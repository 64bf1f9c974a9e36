package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vmmlab/vmm/internal/kvmtest"
	"github.com/vmmlab/vmm/lab/labenv"
)

// importLabImages imports the lab's application images (make images)
// into the default store, on the outer guest's scratch disk.
func importLabImages(t *testing.T, vmm string, names ...string) {
	t.Helper()
	dir := kvmtest.File(t, labenv.EnvImages)
	for _, n := range names {
		if out, err := exec.Command(vmm, "image", "import", filepath.Join(dir, n+".tar")).CombinedOutput(); err != nil {
			t.Fatalf("vmm image import %s: %v: %s", n, err, out)
		}
	}
}

// The redis image of make images answers PING from the host over
// vmmbr0 as a microVM and as crun and runc containers, and stops with
// status 0 on SIGTERM (redis saves and exits); busybox's sh -c 'exit 7'
// exits 7.
func TestImagesOnVMMBridge(t *testing.T) {
	kvmtest.Open(t)
	vmm := kvmtest.File(t, labenv.EnvVMM)
	importLabImages(t, vmm, "redis", "busybox")
	if out, err := exec.Command(vmm, "run", "vmm.local/busybox", "--", "sh", "-c", "exit 7").CombinedOutput(); exitOf(err) != 7 {
		t.Errorf("vmm run busybox -- sh -c 'exit 7': %v: %s", err, out)
	}
	for _, c := range []struct{ name, at string }{
		{"microVM", "run"}, {"crun", "container run --runtime crun --mem 256M"}, {"runc", "container run --runtime runc --mem 256M"},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := append(strings.Fields(c.at), "--net", "vmm.local/redis")
			pingRedis(t, exec.Command(vmm, args...))
		})
	}
}

var atAddress = regexp.MustCompile(` is at (10\.0\.4\.\d+)`)

// pingRedis starts cmd (a redis instance on vmmbr0), waits for its
// address on stderr, sends PING until PONG comes back, then SIGTERM.
func pingRedis(t *testing.T, cmd *exec.Cmd) {
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
		close(lines)
		done <- cmd.Wait()
	}()
	var seen []string
	addr := ""
	for addr == "" {
		l, ok := <-lines
		if !ok {
			t.Fatalf("%v ended without an address: %v\n%s", cmd.Args, <-done, strings.Join(seen, "\n"))
		}
		seen = append(seen, l)
		if m := atAddress.FindStringSubmatch(l); m != nil {
			addr = m[1]
		}
	}
	go func() {
		for range lines {
		}
	}()
	reply, err := ping(addr+":6379", 3*time.Minute)
	if err != nil || reply != "+PONG" {
		t.Errorf("PING %s: %q, %v", addr, reply, err)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("after SIGTERM: %v, want exit status 0 (redis stops cleanly)", err)
		}
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		t.Errorf("%v did not end 2 minutes after SIGTERM", cmd.Args)
	}
}

// ping sends redis a PING until it answers, at most limit.
func ping(addr string, limit time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	var last error
	for ctx.Err() == nil {
		c, err := (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, "tcp", addr)
		if err == nil {
			c.SetDeadline(time.Now().Add(10 * time.Second))
			fmt.Fprint(c, "PING\r\n")
			line, err := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if err == nil {
				return strings.TrimSpace(line), nil
			}
			last = err
		} else {
			last = err
		}
		time.Sleep(500 * time.Millisecond)
	}
	return "", fmt.Errorf("no answer within %v: %w", limit, last)
}

// exitOf is a finished command's exit status (-1 when it did not run).
func exitOf(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}
