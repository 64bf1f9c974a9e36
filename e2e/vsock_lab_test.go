package e2e

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vmmlab/vmm/internal/kvmtest"
	"github.com/vmmlab/vmm/lab/labenv"
)

// A host program and the guest talk over virtio-vsock both ways, 1 MiB
// each, checked by SHA-256: the host program connects through vmm's unix
// socket ("CONNECT 1234") to the guest's listener, then the guest
// connects to CID 2 port 5678 and reaches the host's listener at
// PATH_5678. On the minimal kernel over virtio-mmio (built in) and the
// Debian kernel over PCI (the initramfs loads vmw_vsock_virtio_transport).
func TestVsock(t *testing.T) {
	l := kernelOnly(t)
	micro := kvmtest.File(t, labenv.EnvMicroKernel)
	image := kvmtest.File(t, labenv.EnvWorkloadInitramfs)
	for _, c := range []struct {
		name string
		args []string
	}{
		{"minimal kernel, virtio-mmio", []string{"--kernel", micro, "--virtio", "mmio"}},
		{"Debian kernel, PCI", []string{"--kernel", l.kernel}},
	} {
		uds := filepath.Join(t.TempDir(), "v.sock")
		ln, err := net.Listen("unix", uds+"_5678")
		if err != nil {
			t.Fatal(err)
		}
		fromGuest := make(chan string, 1) // SHA-256 of what the guest sent
		go func() {
			s, err := ln.Accept()
			if err != nil {
				fromGuest <- "accept: " + err.Error()
				return
			}
			defer s.Close()
			h := sha256.New()
			n, err := io.Copy(h, s)
			sum := fmt.Sprintf("%x", h.Sum(nil))
			fmt.Fprintf(s, "%s\n", sum)
			fromGuest <- fmt.Sprintf("%d bytes, sha %s, %v", n, sum, err)
		}()
		data := make([]byte, 1<<20)
		rand.Read(data)
		sent := fmt.Sprintf("%x", sha256.Sum256(data))
		toGuest := func(ctx context.Context, console *watchBuffer) error {
			for !strings.Contains(console.String(), "VSOCK-LISTENING") {
				if ctx.Err() != nil {
					return nil // the boot's own checks say why
				}
				time.Sleep(100 * time.Millisecond)
			}
			s, err := net.Dial("unix", uds)
			if err != nil {
				return err
			}
			defer s.Close()
			fmt.Fprintf(s, "CONNECT 1234\n")
			r := bufio.NewReader(s)
			if line, err := r.ReadString('\n'); err != nil || !regexp.MustCompile(`^OK \d+\n$`).MatchString(line) {
				return fmt.Errorf("vmm answered CONNECT with %q, %v", line, err)
			}
			if _, err := s.Write(data); err != nil {
				return err
			}
			s.(*net.UnixConn).CloseWrite()
			reply, err := io.ReadAll(r)
			if got := strings.TrimSpace(string(reply)); got != sent {
				return fmt.Errorf("the guest read SHA-256 %q of the 1 MiB sent, want %s (%v)", got, sent, err)
			}
			return nil
		}
		r := l.boot(t, input{during: toGuest, limit: 4 * time.Minute}, append(c.args, "--initrd", image, "--mem", "256M",
			"--vsock", "cid=3,uds="+uds, "--cmdline", testWorkload("vsock", "1048576"))...)
		ln.Close()
		if r.code != 0 {
			t.Fatalf("%s: exit %d\nconsole:\n%s\nstderr:\n%s", c.name, r.code, r.out, r.stderr)
		}
		if in := "VSOCK-IN bytes=1048576 sha=" + sent; !strings.Contains(r.out, in) {
			t.Errorf("%s: guest console lacks %q", c.name, in)
		}
		// The guest checked that the listener's answer is the SHA-256 of
		// what it sent, and printed it.
		m := regexp.MustCompile(`VSOCK-OUT bytes=1048576 sha=([0-9a-f]{64})`).FindStringSubmatch(r.out)
		select {
		case got := <-fromGuest:
			if m == nil || got != "1048576 bytes, sha "+m[1]+", <nil>" {
				t.Errorf("%s: the host's listener got %s; the guest printed %q", c.name, got, m)
			}
		default:
			t.Errorf("%s: the guest never connected to the host's port 5678", c.name)
		}
		t.Logf("%s: 1 MiB each way over vsock; vmm's counters %v", c.name, r.result.Devices)
	}
}
