package store

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"golang.org/x/sys/unix"
)

// file is one entry of a test layer: a name ending in "/" is a
// directory, one whose body starts with "->" a symlink.
type file struct{ name, body string }

func tarOf(t testing.TB, files ...file) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Mode: 0o644, Typeflag: tar.TypeReg, Size: int64(len(f.body))}
		switch {
		case strings.HasSuffix(f.name, "/"):
			h.Typeflag, h.Mode, h.Size = tar.TypeDir, 0o755, 0
		case strings.HasPrefix(f.body, "->"):
			h.Typeflag, h.Linkname, h.Size = tar.TypeSymlink, f.body[2:], 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte(f.body))
		}
	}
	tw.Close()
	return b.Bytes()
}

func layerOf(t testing.TB, files ...file) v1.Layer {
	t.Helper()
	data := tarOf(t, files...)
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

var (
	baseFiles = []file{{"etc/", ""}, {"etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"}, {"etc/os-release", "debian\n"}, {"bin/", ""}, {"bin/sh", "#!"}}
	redis     = []file{{"usr/bin/", ""}, {"usr/bin/redis-server", "redis"}, {"etc/.wh.os-release", ""}}
	nginx     = []file{{"usr/sbin/", ""}, {"usr/sbin/nginx", "nginx"}}
)

// image makes a linux/amd64 image of layers with command cmd.
func image(t testing.TB, cmd []string, layers ...v1.Layer) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Config.Cmd = "linux", "amd64", cmd
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// dockerSave writes img as `docker save` does, tagged tag.
func dockerSave(t testing.TB, img v1.Image, tags ...string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "image.tar")
	refs := map[name.Reference]v1.Image{}
	for _, tag := range tags {
		tg, err := name.NewTag(tag)
		if err != nil {
			t.Fatal(err)
		}
		refs[tg] = img
	}
	if err := tarball.MultiRefWriteToFile(p, refs); err != nil {
		t.Fatal(err)
	}
	return p
}

func openStore(t *testing.T) *Store {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("the image store's tests unpack layers, which needs root; the project's machines and CI run tests as root")
	}
	s, err := Open(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func importFile(t *testing.T, s *Store, path string, o ImportOptions) Imported {
	t.Helper()
	r, err := s.Import(context.Background(), path, o)
	if err != nil {
		t.Fatalf("import %s: %v", path, err)
	}
	return r
}

// Two images over one base layer share it on disk; each layer is in
// overlayfs form (a whiteout is a 0:0 character device).
func TestImportSharesLayers(t *testing.T) {
	s := openStore(t)
	base := layerOf(t, baseFiles...)
	r1 := importFile(t, s, dockerSave(t, image(t, []string{"redis-server"}, base, layerOf(t, redis...)), "vmm.local/redis:latest"), ImportOptions{})
	r2 := importFile(t, s, dockerSave(t, image(t, []string{"nginx"}, base, layerOf(t, nginx...)), "vmm.local/nginx"), ImportOptions{})
	if r1.Shared != 0 || r2.Shared != 1 || strings.Join(r2.Names, ",") != "vmm.local/nginx:latest" {
		t.Errorf("imports: %+v / %+v", r1, r2)
	}
	if ents, _ := os.ReadDir(filepath.Join(s.Root(), "layers")); len(ents) != 3 {
		t.Errorf("%d layer directories, want 3 (the base once)", len(ents))
	}
	var st unix.Stat_t
	wh := filepath.Join(s.LayerDir(r1.Record.Layers[1].DiffID), "etc/os-release")
	if err := unix.Lstat(wh, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
		t.Errorf("whiteout %s: mode %o, %v", wh, st.Mode, err)
	}
	list, err := s.List()
	if err != nil || len(list) != 2 || list[0].Name != "vmm.local/nginx:latest" || list[1].ID != r1.Record.ID() || list[1].Layers != 2 {
		t.Fatalf("list %+v, %v", list, err)
	}
	d, err := s.Inspect("vmm.local/redis")
	if err != nil || d.Shared[0] != 1 || d.Shared[1] != 0 {
		t.Errorf("inspect: shared %v, %v", d.Shared, err)
	}
	// rm keeps the layer the other image uses
	if err := s.Remove("vmm.local/redis"); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(filepath.Join(s.Root(), "layers")); len(ents) != 2 {
		t.Errorf("%d layer directories after rm, want 2", len(ents))
	}
	if _, err := os.Stat(s.LayerDir(r2.Record.Layers[0].DiffID)); err != nil {
		t.Errorf("the shared base went with rm: %v", err)
	}
	if err := s.Remove("vmm.local/redis"); !errors.Is(err, ErrUnknown) {
		t.Errorf("rm of a removed name: %v", err)
	}
}

// The same image under the same name again does nothing; a name that
// points at another image is refused, unless --replace.
func TestImportNames(t *testing.T) {
	s := openStore(t)
	a := dockerSave(t, image(t, []string{"a"}, layerOf(t, baseFiles...)), "vmm.local/x:1")
	b := dockerSave(t, image(t, []string{"b"}, layerOf(t, baseFiles...)), "vmm.local/x:1")
	first := importFile(t, s, a, ImportOptions{})
	if again := importFile(t, s, a, ImportOptions{}); !again.Already || again.Record.Digest != first.Record.Digest {
		t.Errorf("a second import: %+v", again)
	}
	before := snapshot(t, s)
	if _, err := s.Import(context.Background(), b, ImportOptions{}); !errors.Is(err, ErrNameTaken) {
		t.Errorf("a taken name: %v", err)
	}
	assertSame(t, before, snapshot(t, s))
	r := importFile(t, s, b, ImportOptions{Replace: true})
	if l, _ := s.Lookup("vmm.local/x:1"); l.Digest != r.Record.Digest || l.Digest == first.Record.Digest {
		t.Errorf("--replace: the name points at %s", l.Digest)
	}
	if _, err := os.Stat(s.recordPath(first.Record.Digest)); err == nil {
		t.Error("the image no name points at any more was kept")
	}
	named := importFile(t, s, a, ImportOptions{Name: "other"})
	if strings.Join(named.Names, ",") != "other:latest" {
		t.Errorf("--name: %q", named.Names)
	}
}

// An OCI layout names its image by annotation; a root file system
// tarball, gzip'd or not, needs --name.
func TestImportLayoutAndRootfs(t *testing.T) {
	s := openStore(t)
	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	arm := image(t, []string{"x"}, layerOf(t, file{"arm", "x"}))
	cf, _ := arm.ConfigFile()
	cf = cf.DeepCopy()
	cf.Architecture = "arm64"
	arm, _ = mutate.ConfigFile(arm, cf)
	p.AppendImage(arm, layout.WithPlatform(v1.Platform{OS: "linux", Architecture: "arm64"}))
	p.AppendImage(image(t, []string{"sh"}, layerOf(t, baseFiles...)), layout.WithPlatform(v1.Platform{OS: "linux", Architecture: "amd64"}),
		layout.WithAnnotations(map[string]string{refName: "vmm.local/busybox:1.36"}))
	if r := importFile(t, s, dir, ImportOptions{}); strings.Join(r.Names, ",") != "vmm.local/busybox:1.36" {
		t.Errorf("layout: names %q", r.Names)
	}
	rootfs := filepath.Join(t.TempDir(), "rootfs.tar")
	os.WriteFile(rootfs, tarOf(t, baseFiles...), 0o644)
	if _, err := s.Import(context.Background(), rootfs, ImportOptions{}); err == nil || !strings.Contains(err.Error(), "--name") {
		t.Errorf("a rootfs tarball with no --name: %v", err)
	}
	r := importFile(t, s, rootfs, ImportOptions{Name: "vmm.local/rootfs"})
	if len(r.Record.Layers) != 1 || r.Shared != 1 {
		t.Errorf("rootfs: %+v", r)
	}
}

// Bad input is one error naming the problem, and the store is as it was.
func TestImportBadInput(t *testing.T) {
	s := openStore(t)
	importFile(t, s, dockerSave(t, image(t, []string{"a"}, layerOf(t, baseFiles...)), "vmm.local/keep"), ImportOptions{})
	notImage := filepath.Join(t.TempDir(), "notes.txt")
	os.WriteFile(notImage, []byte(strings.Repeat("not a tar\n", 100)), 0o644)
	arm := image(t, []string{"x"}, layerOf(t, file{"a", "b"}))
	cf, _ := arm.ConfigFile()
	cf = cf.DeepCopy()
	cf.Architecture = "arm64"
	arm, _ = mutate.ConfigFile(arm, cf)
	escape := dockerSave(t, image(t, []string{"x"}, layerOf(t, file{"l", "->.."}, file{"l/x", "out"})), "vmm.local/escape")
	for _, c := range []struct {
		name, path, want string
		o                ImportOptions
	}{
		{"not an image", notImage, "not an image", ImportOptions{}},
		{"missing", filepath.Join(t.TempDir(), "none.tar"), "no such file", ImportOptions{}},
		{"corrupt layer", corruptLayer(t), "the layer is corrupt", ImportOptions{}},
		{"another architecture", dockerSave(t, arm, "vmm.local/arm"), "linux/arm64", ImportOptions{}},
		{"escape", escape, "l/x", ImportOptions{}},
		{"bad name", escape, "image name", ImportOptions{Name: "UPPER/case"}},
		{"missing config", missingConfig(t), "config", ImportOptions{}},
	} {
		before := snapshot(t, s)
		_, err := s.Import(context.Background(), c.path, c.o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", c.name, err, c.want)
		}
		assertSame(t, before, snapshot(t, s))
	}
}

// An import stopped half-way leaves the store as it was, and what a
// killed one left is gone the next time the store is locked.
func TestImportInterrupted(t *testing.T) {
	s := openStore(t)
	before := snapshot(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Import(ctx, dockerSave(t, image(t, []string{"a"}, layerOf(t, baseFiles...)), "vmm.local/a"), ImportOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled import: %v", err)
	}
	assertSame(t, before, snapshot(t, s))
	os.MkdirAll(filepath.Join(s.Root(), "tmp", "layer-123", "fs"), 0o755)
	os.MkdirAll(s.LayerDir("sha256:"+strings.Repeat("ab", 32)), 0o755)
	if _, err := s.List(); err != nil {
		t.Fatal(err)
	}
	importFile(t, s, dockerSave(t, image(t, []string{"b"}, layerOf(t, nginx...)), "vmm.local/b"), ImportOptions{})
	if ents, _ := os.ReadDir(filepath.Join(s.Root(), "layers")); len(ents) != 1 {
		t.Errorf("%d layers after a killed import's leftovers, want 1", len(ents))
	}
}

// corruptLayer writes a docker save tarball whose config names a layer
// digest its layer does not have.
func corruptLayer(t *testing.T) string {
	img := image(t, []string{"x"}, layerOf(t, baseFiles...))
	cf, _ := img.ConfigFile()
	cf = cf.DeepCopy()
	cf.RootFS.DiffIDs[0] = v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("0", 64)}
	bad, err := mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return dockerSave(t, bad, "vmm.local/corrupt")
}

// missingConfig writes a docker save tarball without its config file.
func missingConfig(t *testing.T) string {
	src := dockerSave(t, image(t, []string{"x"}, layerOf(t, baseFiles...)), "vmm.local/noconfig")
	in, _ := os.Open(src)
	defer in.Close()
	var out bytes.Buffer
	tr, tw := tar.NewReader(in), tar.NewWriter(&out)
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		if strings.HasPrefix(h.Name, "sha256:") {
			continue // the config
		}
		tw.WriteHeader(h)
		io.Copy(tw, tr)
	}
	tw.Close()
	p := filepath.Join(t.TempDir(), "noconfig.tar")
	os.WriteFile(p, out.Bytes(), 0o644)
	return p
}

// snapshot lists the store's files (but its lock), with their sizes.
func snapshot(t *testing.T, s *Store) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(s.Root(), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.Name() == "lock" {
			return err
		}
		info, _ := d.Info()
		rel, _ := filepath.Rel(s.Root(), p)
		out = append(out, rel+" "+info.Mode().String()+" "+strings.Repeat("#", int(min(info.Size(), 64))))
		return nil
	})
	sort.Strings(out)
	return out
}

func assertSame(t *testing.T, before, after []string) {
	t.Helper()
	if strings.Join(before, "\n") != strings.Join(after, "\n") {
		t.Errorf("the store changed:\nbefore %q\nafter  %q", before, after)
	}
}

// ReadFile shows a file as the overlay of the layers would: the top
// layer's, hidden by a whiteout or an opaque directory above it.
func TestReadFileThroughLayers(t *testing.T) {
	s := openStore(t)
	base := layerOf(t, baseFiles...)
	for _, c := range []struct {
		top  []file
		want string // "" : not there
	}{
		{[]file{{"usr/", ""}}, "root:x:0:0:root:/root:/bin/sh\n"},
		{[]file{{"etc/", ""}, {"etc/passwd", "app:x:1:1::/app:/bin/sh\n"}}, "app:x:1:1::/app:/bin/sh\n"},
		{[]file{{"etc/.wh.passwd", ""}}, ""},
		{[]file{{"etc/", ""}, {"etc/.wh..wh..opq", ""}, {"etc/group", "g:x:1:\n"}}, ""},
		{[]file{{".wh.etc", ""}}, ""},
		{[]file{{"etc", "->/elsewhere"}}, ""},
	} {
		img := image(t, []string{"sh"}, base, layerOf(t, c.top...))
		r := importFile(t, s, dockerSave(t, img, "vmm.local/read"), ImportOptions{Replace: true})
		got, err := s.ReadFile(r.Record, "etc/passwd")
		switch {
		case c.want == "" && !errors.Is(err, os.ErrNotExist):
			t.Errorf("top layer %v: %q, %v; want it hidden", c.top, got, err)
		case c.want != "" && (err != nil || string(got) != c.want):
			t.Errorf("top layer %v: %q, %v; want %q", c.top, got, err, c.want)
		}
	}
	r, _ := s.Lookup("vmm.local/read")
	pc, files, err := s.Process(r)
	if err != nil || strings.Join(pc.Cmd, " ") != "sh" || files.Passwd != nil {
		t.Errorf("Process: %+v %+v %v", pc, files, err)
	}
}

// An image's ext4 holds its layers as overlayfs shows them (a whiteout
// hides the base's file), is built once, and goes with the image.
func TestExt4(t *testing.T) {
	s := openStore(t)
	r := importFile(t, s, dockerSave(t, image(t, []string{"sh"}, layerOf(t, baseFiles...), layerOf(t, redis...)), "vmm.local/redis"), ImportOptions{})
	path, cached, err := s.Ext4(context.Background(), r.Record)
	if err != nil || cached {
		t.Fatalf("Ext4: %q cached %v, %v", path, cached, err)
	}
	ls := debugfs(t, path, "ls -p /etc") + debugfs(t, path, "ls -p /usr/bin")
	if !strings.Contains(ls, "/passwd/") || strings.Contains(ls, "os-release") || !strings.Contains(ls, "/redis-server/") {
		t.Errorf("the ext4's files:\n%s", ls)
	}
	if _, again, err := s.Ext4(context.Background(), r.Record); err != nil || !again {
		t.Errorf("a second Ext4: cached %v, %v", again, err)
	}
	if err := s.Remove("vmm.local/redis"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the removed image's ext4 stays: %v", err)
	}
}

// debugfs runs a debugfs request on an ext4 file.
func debugfs(t *testing.T, img, req string) string {
	t.Helper()
	out, err := exec.Command("debugfs", "-R", req, img).CombinedOutput()
	if err != nil {
		t.Fatalf("debugfs %s: %v\n%s", req, err, out)
	}
	return string(out)
}

// An unnamed import (vmm container run FILE) keeps the image by digest
// and takes none of the names the file gives it: a name in the store
// stays where it points.
func TestUnnamedImportTakesNoName(t *testing.T) {
	s := openStore(t)
	first := importFile(t, s, dockerSave(t, image(t, []string{"a"}, layerOf(t, baseFiles...)), "vmm.local/app:1"), ImportOptions{})
	other := dockerSave(t, image(t, []string{"b"}, layerOf(t, nginx...)), "vmm.local/app:1")
	r, err := s.Import(context.Background(), other, ImportOptions{Unnamed: true})
	if err != nil || len(r.Names) != 0 || !r.Record.Unnamed {
		t.Fatalf("unnamed import: %+v, %v", r, err)
	}
	if l, _ := s.Lookup("vmm.local/app:1"); l.Digest != first.Record.Digest {
		t.Errorf("the name moved to %s", l.Digest)
	}
	if again, err := s.Import(context.Background(), other, ImportOptions{Unnamed: true}); err != nil || !again.Already {
		t.Errorf("the same file again: %+v, %v", again, err)
	}
	// another import tidies the store: the unnamed image stays
	importFile(t, s, dockerSave(t, image(t, []string{"c"}, layerOf(t, redis...)), "vmm.local/c"), ImportOptions{})
	if _, err := s.readRecord(r.Record.Digest); err != nil {
		t.Errorf("the unnamed image went: %v", err)
	}
}
