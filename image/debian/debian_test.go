package debian

import (
	"archive/tar"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vmmlab/vmm/image/process"
	"github.com/vmmlab/vmm/image/store"
)

// A tree in overlayfs's upper form becomes a layer in OCI form:
// whiteouts as .wh. files, an opaque directory's marker, hard links,
// symlinks, owners and user xattrs kept, and nothing under dev.
func TestWriteLayer(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("making whiteouts (character devices 0:0) and trusted xattrs needs root")
	}
	dir := t.TempDir()
	for _, d := range []string{"etc", "opaque", "dev"} {
		os.Mkdir(filepath.Join(dir, d), 0o755)
	}
	os.WriteFile(filepath.Join(dir, "etc/conf"), []byte("data"), 0o640)
	os.Chown(filepath.Join(dir, "etc/conf"), 101, 102)
	os.Link(filepath.Join(dir, "etc/conf"), filepath.Join(dir, "etc/conf-link"))
	os.Symlink("/etc/conf", filepath.Join(dir, "abs-link"))
	if err := unix.Mknod(filepath.Join(dir, "etc/gone"), unix.S_IFCHR, 0); err != nil {
		t.Fatal(err)
	}
	unix.Mknod(filepath.Join(dir, "dev/null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3)))
	if err := unix.Setxattr(filepath.Join(dir, "opaque"), "trusted.overlay.opaque", []byte("y"), 0); err != nil {
		t.Skipf("trusted xattrs on %s: %v", dir, err)
	}
	if err := unix.Setxattr(filepath.Join(dir, "etc/conf"), "user.note", []byte{1, 2, 3}, 0); err != nil {
		t.Skipf("user xattrs on %s: %v", dir, err)
	}
	out := filepath.Join(t.TempDir(), "layer.tar")
	if err := writeLayer(dir, out); err != nil {
		t.Fatal(err)
	}
	got := readTar(t, out)
	for name, check := range map[string]func(*tar.Header) bool{
		"etc/conf":      func(h *tar.Header) bool { return h.Uid == 101 && h.Gid == 102 && h.Mode&0o777 == 0o640 && h.Size == 4 },
		"etc/conf-link": func(h *tar.Header) bool { return h.Typeflag == tar.TypeLink && h.Linkname == "etc/conf" },
		"abs-link":      func(h *tar.Header) bool { return h.Typeflag == tar.TypeSymlink && h.Linkname == "/etc/conf" },
		"etc/.wh.gone":  func(h *tar.Header) bool { return h.Typeflag == tar.TypeReg && h.Size == 0 },
		"opaque/": func(h *tar.Header) bool {
			return h.Typeflag == tar.TypeDir && h.PAXRecords["SCHILY.xattr.trusted.overlay.opaque"] == ""
		},
		"opaque/.wh..wh..opq": func(h *tar.Header) bool { return h.Typeflag == tar.TypeReg },
		"dev/":                func(h *tar.Header) bool { return true },
	} {
		h, ok := got[name]
		if !ok || !check(h) {
			t.Errorf("%s: %+v (present %v)", name, h, ok)
		}
	}
	if h := got["etc/conf"]; h != nil && h.PAXRecords["SCHILY.xattr.user.note"] != "\x01\x02\x03" {
		t.Errorf("user xattr: %q", h.PAXRecords)
	}
	for _, absent := range []string{"etc/gone", "dev/null"} {
		if _, ok := got[absent]; ok {
			t.Errorf("%s is in the layer", absent)
		}
	}
}

func readTar(t *testing.T, p string) map[string]*tar.Header {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]*tar.Header{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out[h.Name] = h
	}
}

// A saved image imports into the store with its name, two layers (the
// base's shared with another image of the same base) and its command.
func TestSaveImports(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("the store unpacks layers as root")
	}
	work := t.TempDir()
	base, app := filepath.Join(work, "base"), filepath.Join(work, "app")
	for _, d := range []string{base + "/bin", app + "/etc"} {
		os.MkdirAll(d, 0o755)
	}
	os.WriteFile(filepath.Join(base, "bin/tool"), []byte("#!/bin/sh\n"), 0o755)
	os.WriteFile(filepath.Join(app, "etc/app.conf"), []byte("x"), 0o644)
	baseTar, appTar := filepath.Join(work, "base.tar"), filepath.Join(work, "app.tar")
	for dir, out := range map[string]string{base: baseTar, app: appTar} {
		if err := writeLayer(dir, out); err != nil {
			t.Fatal(err)
		}
	}
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for i, im := range []Image{{Name: "vmm.local/one:latest", Cmd: []string{"tool", "--x"}, WorkingDir: "/srv", Ready: "log:up"}, {Name: "vmm.local/two:latest", Cmd: []string{"tool"}}} {
		out := filepath.Join(work, im.Name[len("vmm.local/"):len(im.Name)-len(":latest")]+".tar")
		if err := save(out, im, []string{baseTar, appTar}[:1+i]); err != nil {
			t.Fatal(err)
		}
		res, err := st.Import(t.Context(), out, store.ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pc, _, err := st.Process(res.Record)
		if err != nil || strings.Join(pc.Cmd, " ") != strings.Join(im.Cmd, " ") || pc.WorkingDir != im.WorkingDir || len(pc.Env) != 1 ||
			pc.Labels[process.ReadyLabel] != im.Ready {
			t.Errorf("%s: process config %+v, %v", im.Name, pc, err)
		}
	}
	one, _ := st.Lookup("vmm.local/one")
	two, _ := st.Lookup("vmm.local/two")
	if len(one.Layers) != 1 || len(two.Layers) != 2 || one.Layers[0].DiffID != two.Layers[0].DiffID {
		t.Errorf("layers: one %+v, two %+v", one.Layers, two.Layers)
	}
}

// nginx's default site is a symlink in Debian; the IPv4 site replaces
// the link and never writes through it.
func TestIPv4SiteDoesNotWriteThroughALink(t *testing.T) {
	root := t.TempDir()
	sites := filepath.Join(root, "etc/nginx/sites-enabled")
	os.MkdirAll(sites, 0o755)
	outside := filepath.Join(t.TempDir(), "host-file")
	os.WriteFile(outside, []byte("host"), 0o644)
	os.Symlink(outside, filepath.Join(sites, "default"))
	if err := ipv4Site(root); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(outside); string(b) != "host" {
		t.Fatalf("the link's target was written: %q", b)
	}
	b, err := os.ReadFile(filepath.Join(sites, "default"))
	if err != nil || !strings.Contains(string(b), "listen 80 default_server;") || strings.Contains(string(b), "[::]") {
		t.Fatalf("site %q, %v", b, err)
	}
}
