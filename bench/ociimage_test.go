package bench

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/vmmlab/vmm/bench/results"
	"github.com/vmmlab/vmm/guestinit"
)

func TestParseReady(t *testing.T) {
	for in, want := range map[string]Ready{
		"log:Ready to accept connections": {Log: "Ready to accept connections"},
		"tcp:6379":                        {Port: 6379},
		"http:80/":                        {Port: 80, Path: "/"},
		"http:8080/health/live":           {Port: 8080, Path: "/health/live"},
		"http:8080/ready?full=1":          {Port: 8080, Path: "/ready?full=1"},
	} {
		got, err := ParseReady(in)
		if err != nil || got != want || got.String() != in {
			t.Errorf("ParseReady(%q) = %+v (%q), %v", in, got, got.String(), err)
		}
	}
	for _, bad := range []string{"", "log:", "tcp:", "tcp:0", "tcp:65536", "tcp:x", "http:80", "http:/x", "port:1", "Ready",
		"log:line\nbreak", "http:80/a b", "http:80/x#frag", "log:\xff", "log:" + strings.Repeat("x", 300)} {
		if _, err := ParseReady(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// A ready condition may come from an image's label: whatever it holds,
// ParseReady does not panic, and what it accepts prints back as itself,
// without control characters, and an HTTP one is a path on the
// instance's own address.
func FuzzParseReady(f *testing.F) {
	for _, s := range []string{"log:Ready", "tcp:6379", "http:80/", "http:8080/a?b=c", "http:80//x", "log:\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseReady(s)
		if err != nil {
			return
		}
		if r.String() != s || strings.ContainsFunc(s, unicode.IsControl) || len(s) > maxReadyLen {
			t.Fatalf("%q accepted as %+v (%q)", s, r, r.String())
		}
		if r.Path != "" {
			u, err := url.Parse("http://10.78.0.2:80" + r.Path)
			if err != nil || u.Host != "10.78.0.2:80" {
				t.Fatalf("%q: the probe's URL is %v, %v", s, u, err)
			}
		}
	})
}

// A probe waits for a port that opens late, and for an HTTP answer
// whatever its status; it gives up when its context ends.
func TestProbe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().(*net.TCPAddr).AddrPort()
	ln.Close()
	var d net.Dialer
	go func() {
		time.Sleep(50 * time.Millisecond)
		ln, err := net.Listen("tcp", addr.String())
		if err != nil {
			return
		}
		http.Serve(ln, http.NotFoundHandler())
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, r := range []Ready{{Port: addr.Port()}, {Port: addr.Port(), Path: "/missing"}} {
		if err := r.probe(ctx, d.DialContext, addr.Addr()); err != nil {
			t.Errorf("%s: %v", r, err)
		}
	}
	short, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel2()
	if err := (Ready{Port: 1}).probe(short, d.DialContext, addr.Addr()); err == nil {
		t.Error("a closed port was ready")
	}
}

// With an image, the targets that cannot run one yet say so in Check
// (the report then lists them as skipped), and the VMs' command
// line asks vmm-init for an overlay root over the image's disk.
func TestImageTargets(t *testing.T) {
	a := Assets{OCI: &OCIImage{Name: "vmm.local/redis"}, QEMU: "/usr/bin/qemu-system-x86_64"}
	for _, tg := range []Target{newProcess(a), newVMMRestore(a, false), newVMMRestore(a, true)} {
		if err := tg.Check(); err == nil || !strings.Contains(err.Error(), "does not run OCI images yet") {
			t.Errorf("%s: Check %v", tg.Name(), err)
		}
	}
	// docker loads the image file itself: a name in vmm's store will not do
	if err := newDocker(a, t.TempDir(), false).Check(); err == nil || !strings.Contains(err.Error(), "give the image file") {
		t.Errorf("docker: Check %v", err)
	}
	// a network ready condition needs the bench's bridge, which runsc
	// and docker do not join yet (qemu does: a tap, as vmm)
	a.OCI = &OCIImage{Name: "vmm.local/nginx", Tarball: "nginx.tar", Ready: Ready{Port: 80, Path: "/"}}
	for _, tg := range []Target{newRuntime(a, results.TargetRunsc, t.TempDir(), false), newDocker(a, t.TempDir(), false)} {
		if err := tg.Check(); err == nil || !strings.Contains(err.Error(), "no network in the bench yet") {
			t.Errorf("%s with http ready: Check %v", tg.Name(), err)
		}
		if c, ok := tg.(io.Closer); ok {
			c.Close()
		}
	}
	line, err := imageCmdline("10.78.0.2/24", "10.78.0.1")
	if err != nil {
		t.Fatal(err)
	}
	task, err := guestinit.ParseCmdline(line)
	if err != nil || task.Root == nil || task.Root.Source != "/dev/vda" || task.Upper == "" || !strings.HasPrefix(line, guestCmdline) ||
		task.IP.String() != "10.78.0.2/24" || task.GW.String() != "10.78.0.1" {
		t.Errorf("%q: %+v, %v", line, task, err)
	}
}

// The start benchmark runs an image's server under crun on the image's
// layers, ready at its own log line or, on the bench's bridge, at its
// first HTTP answer; it stops each right there (a server never ends by
// itself), and leaves no root, bundle or bridge behind.
func TestStartImageUnderCrun(t *testing.T) {
	layer, _ := busyboxLayer(t)
	for name, c := range map[string]struct {
		ready Ready
		args  []string
	}{
		"log":  {Ready{Log: "IMAGE-READY"}, []string{"/bin/sh", "-c", "echo IMAGE-READY; exec sleep 600"}},
		"http": {Ready{Port: 8080, Path: "/"}, []string{"/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/www"}},
	} {
		t.Run(name, func(t *testing.T) {
			state := t.TempDir()
			img := &OCIImage{Name: "test", Layers: []string{layer}, Ready: c.ready,
				Process: specs.Process{Args: c.args, Cwd: "/", Env: []string{"PATH=/bin"}}}
			tg := newRuntime(Assets{OCI: img}, results.TargetCrun, state, false)
			if err := tg.Check(); err != nil {
				t.Skipf("crun: %v", err)
			}
			br, probe, err := imageNet(img, netip.MustParsePrefix("10.78.254.0/24"))
			if err != nil {
				t.Fatal(err)
			}
			res := runStart(context.Background(), []Target{tg}, startConfig{Workload: "test (OCI image)", Runs: 1, MemMiB: 64, CPUs: 1,
				Timeout: time.Minute, ExitGrace: time.Millisecond, StopAtReady: true, Net: br, Probe: probe})
			if len(res.Samples) != 1 || res.Samples[0].Error != "" || res.Samples[0].Note != "" || res.Samples[0].ReadyMS <= 0 {
				t.Errorf("samples %+v", res.Samples)
			}
			if left := closeImageNet(br); len(left) != 0 {
				t.Errorf("the bridge left %v", left)
			}
			if err := tg.(*ctrTarget).Close(); err != nil {
				t.Fatal(err)
			}
			if left, _ := os.ReadDir(state); len(left) != 0 {
				t.Errorf("the state directory holds %v after Close", left)
			}
		})
	}
}

// N instances of an image at once under crun: each ready at its first
// HTTP answer on the bench's bridge, their writes measured in their own
// upper directories, everything removed afterwards.
func TestImageDensityUnderCrun(t *testing.T) {
	layer, busybox := busyboxLayer(t)
	img := &OCIImage{Name: "test", Layers: []string{layer}, Ready: Ready{Port: 8080, Path: "/"},
		Process: specs.Process{Args: []string{"/bin/sh", "-c", "head -c 200000 /bin/busybox >/written && exec busybox httpd -f -p 8080 -h /www"},
			Cwd: "/", Env: []string{"PATH=/bin"}}}
	state := t.TempDir()
	tg := newRuntime(Assets{OCI: img}, results.TargetCrun, state, false)
	defer tg.(*ctrTarget).Close()
	if err := tg.Check(); err != nil {
		t.Skipf("crun: %v", err)
	}
	run := measureDensity(context.Background(), tg, densityConfig{Max: 3, MemMiB: 64, CPUs: 1, Timeout: time.Minute,
		Prefix: netip.MustParsePrefix("10.78.253.0/24"), Image: true, Probe: &img.Ready, Cached: img.Layers})
	if run.Count != 3 || len(run.Points) != 3 || len(run.Failures) != 0 || len(run.Leftovers) != 0 || run.StopReason != "reached --max 3" {
		t.Fatalf("run %+v", run)
	}
	if run.WrittenBytes == nil || *run.WrittenBytes < 3*200000 || *run.WrittenBytes > 3*400000 {
		t.Errorf("written %v, want about 3 × 200000 bytes", run.WrittenBytes)
	}
	if run.ImageCachedBytes == nil || *run.ImageCachedBytes < int64(len(busybox)) {
		t.Errorf("image in page cache %v, want at least busybox's %d bytes (every instance ran it)", run.ImageCachedBytes, len(busybox))
	}
	if run.PssPer == 0 || run.Points[0].ReadyMS <= 0 {
		t.Errorf("run %+v", run)
	}
	if err := tg.(*ctrTarget).Close(); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(state); len(left) != 0 {
		t.Errorf("the state directory holds %v after Close", left)
	}
}

// busyboxLayer is an image layer for a container test: the host's
// static busybox as /bin/busybox and /bin/sh, and an empty /www; the
// test is skipped without root or busybox.
func busyboxLayer(t *testing.T) (dir string, busybox []byte) {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("containers need root")
	}
	busybox, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Skip("needs a static busybox (busybox-static)")
	}
	dir = t.TempDir()
	os.MkdirAll(filepath.Join(dir, "bin"), 0o755)
	os.MkdirAll(filepath.Join(dir, "www"), 0o755)
	os.WriteFile(filepath.Join(dir, "bin/busybox"), busybox, 0o755)
	os.Symlink("busybox", filepath.Join(dir, "bin/sh"))
	return dir, busybox
}
