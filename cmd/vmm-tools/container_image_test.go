package main

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/vmmlab/vmm/initramfs"
)

// busyboxImage writes a docker save tarball of an image holding the
// host's static busybox as /bin/sh, a user www, Entrypoint
// ["/bin/sh","-c"], Cmd ["echo default"], Env A=image, WorkingDir /etc.
func busyboxImage(t *testing.T) string {
	t.Helper()
	if err := initramfs.CheckStatic("/bin/busybox"); err != nil {
		t.Fatalf("a static /bin/busybox (make deps installs busybox-static): %v", err)
	}
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	add := func(h *tar.Header, body []byte) {
		h.Size = int64(len(body))
		tw.WriteHeader(h)
		tw.Write(body)
	}
	add(&tar.Header{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755}, nil)
	add(&tar.Header{Name: "bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755}, bb)
	for _, l := range []string{"sh", "id", "cat", "echo", "pwd"} {
		add(&tar.Header{Name: "bin/" + l, Typeflag: tar.TypeSymlink, Linkname: "busybox"}, nil)
	}
	add(&tar.Header{Name: "etc/", Typeflag: tar.TypeDir, Mode: 0o755}, nil)
	add(&tar.Header{Name: "etc/passwd", Typeflag: tar.TypeReg, Mode: 0o644}, []byte("root:x:0:0:root:/root:/bin/sh\nwww:x:33:33::/var/www:/bin/sh\n"))
	add(&tar.Header{Name: "etc/group", Typeflag: tar.TypeReg, Mode: 0o644}, []byte("root:x:0:\nwww:x:33:\n"))
	add(&tar.Header{Name: "tmp/", Typeflag: tar.TypeDir, Mode: 0o1777}, nil)
	tw.Close()
	data := b.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		t.Fatal(err)
	}
	cf, _ := img.ConfigFile()
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Config = v1.Config{Entrypoint: []string{"/bin/sh", "-c"}, Cmd: []string{"echo default"}, Env: []string{"A=image"}, WorkingDir: "/etc"}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "bb.tar")
	tag, _ := name.NewTag("vmm.local/bb:test")
	if err := tarball.WriteToFile(p, tag, img); err != nil {
		t.Fatal(err)
	}
	return p
}

// vmm container run IMAGE under crun and runc: the image's entrypoint,
// command, environment, user and working directory, the command line's
// changes to them, a writable layer of each container's own, and
// docker run's exit statuses.
func TestContainerRunImage(t *testing.T) {
	t.Setenv("VMM_STORE", filepath.Join(t.TempDir(), "store"))
	image := busyboxImage(t)
	var out, errb bytes.Buffer
	if code := dispatch([]string{"image", "import", image}, &out, &errb); code != 0 {
		t.Fatalf("import: %d %s", code, errb.String())
	}
	for _, rt := range []string{"crun", "runc"} {
		for _, c := range []struct {
			args []string
			code int
			out  string
		}{
			{[]string{"vmm.local/bb:test"}, 0, "default\n"},
			{[]string{"vmm.local/bb:test", "--", "exit 7"}, 7, ""},
			{[]string{"vmm.local/bb:test", "pwd; echo $A $PATH"}, 0, "/etc\nimage /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"},
			{[]string{"-e", "A=flag", "-u", "www", "-w", "/tmp", "vmm.local/bb:test", "id -u; id -g; pwd; echo $A $HOME"}, 0, "33\n33\n/tmp\nflag /var/www\n"},
			{[]string{"vmm.local/bb:test", "echo mine > /etc/f; cat /etc/f"}, 0, "mine\n"},
			{[]string{"vmm.local/bb:test", "cat /etc/f"}, 1, ""}, // another container's write
			{[]string{"--read-only", "vmm.local/bb:test", "echo x > /etc/f"}, 1, ""},
			{[]string{"--entrypoint", "/bin/id", "vmm.local/bb:test", "-u"}, 0, "0\n"},
			{[]string{"--entrypoint", "nosuch", "vmm.local/bb:test"}, 127, ""},
			{[]string{"--entrypoint", "/etc/passwd", "vmm.local/bb:test"}, 126, ""},
			{[]string{"vmm.local/nothere"}, 125, ""},
			{[]string{"-u", "nobody", "vmm.local/bb:test"}, 125, ""},
			{[]string{"-e", "A=1", "--", "/bin/true"}, 2, ""},
		} {
			var out, errb bytes.Buffer
			code := dispatch(append([]string{"container", "run", "--runtime", rt}, c.args...), &out, &errb)
			if code != c.code || (c.out != "" && out.String() != c.out) {
				t.Errorf("%s: vmm container run %q: exit %d, stdout %q, stderr %q; want %d, %q", rt, c.args, code, out.String(), errb.String(), c.code, c.out)
			}
		}
	}
	// runsc: gVisor's kernel over the same overlay root, with only a
	// loopback (its sandbox stays in the host's network namespace)
	for _, c := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"vmm.local/bb:test", "pwd; echo $A"}, 0, "/etc\nimage\n"},
		{[]string{"vmm.local/bb:test", "--", "exit 7"}, 7, ""},
	} {
		var out, errb bytes.Buffer
		code := dispatch(append([]string{"container", "run", "--runtime", "runsc"}, c.args...), &out, &errb)
		if code != c.code || (c.out != "" && out.String() != c.out) {
			t.Errorf("runsc: vmm container run %q: exit %d, stdout %q, stderr %q; want %d, %q", c.args, code, out.String(), errb.String(), c.code, c.out)
		}
	}
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(mounts), "image-roots") {
		t.Errorf("an image's overlay is still mounted:\n%s", mounts)
	}
}
