package layer

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// entry is one tar entry of a test layer.
type entry struct {
	hdr  tar.Header
	body string
}

func layerTar(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range entries {
		h := e.hdr
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if h.Mode == 0 && h.Typeflag != tar.TypeXGlobalHeader {
			h.Mode = 0o644
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func needRoot(t testing.TB) {
	if os.Geteuid() != 0 {
		t.Fatal("unpacking layers needs root (owners, device nodes, trusted xattrs); the project's machines and CI run tests as root")
	}
}

func lstat(t *testing.T, p string) unix.Stat_t {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// Owners, modes (set-id bits too), times, xattrs, hard links, symlinks
// and device nodes come through.
func TestUnpackKeepsEverything(t *testing.T) {
	needRoot(t)
	mtime := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	dir := t.TempDir()
	stats, err := Unpack(bytes.NewReader(layerTar(t,
		entry{hdr: tar.Header{Name: "./", Typeflag: tar.TypeDir, Mode: 0o755}},
		entry{hdr: tar.Header{Name: "usr/bin/", Typeflag: tar.TypeDir, Mode: 0o750, Uid: 3, Gid: 4, ModTime: mtime}},
		entry{hdr: tar.Header{Name: "usr/bin/su", Typeflag: tar.TypeReg, Mode: 0o4755, Uid: 1000, Gid: 1001, ModTime: mtime,
			PAXRecords: map[string]string{"SCHILY.xattr.user.note": "hi", "SCHILY.xattr.trusted.overlay.redirect": "/etc"}}, body: "binary"},
		entry{hdr: tar.Header{Name: "usr/bin/su2", Typeflag: tar.TypeLink, Linkname: "usr/bin/su"}},
		entry{hdr: tar.Header{Name: "bin", Typeflag: tar.TypeSymlink, Linkname: "usr/bin", Uid: 5, Gid: 6}},
		entry{hdr: tar.Header{Name: "dev/null", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3, Mode: 0o666}},
		entry{hdr: tar.Header{Name: "run/fifo", Typeflag: tar.TypeFifo, Mode: 0o620}},
		entry{hdr: tar.Header{Typeflag: tar.TypeXGlobalHeader, PAXRecords: map[string]string{"comment": "x"}}},
	)), dir)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Entries != 6 || stats.Bytes != 6 {
		t.Errorf("stats %+v, want 6 entries, 6 bytes", stats)
	}
	su := lstat(t, filepath.Join(dir, "usr/bin/su"))
	if su.Uid != 1000 || su.Gid != 1001 || su.Mode&0o7777 != 0o4755 || su.Nlink != 2 || su.Mtim.Sec != mtime.Unix() {
		t.Errorf("usr/bin/su: uid %d gid %d mode %o links %d mtime %d", su.Uid, su.Gid, su.Mode&0o7777, su.Nlink, su.Mtim.Sec)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "usr/bin/su2")); string(b) != "binary" {
		t.Errorf("hard link reads %q", b)
	}
	buf := make([]byte, 16)
	if n, err := unix.Getxattr(filepath.Join(dir, "usr/bin/su"), "user.note", buf); err != nil || string(buf[:n]) != "hi" {
		t.Errorf("xattr user.note: %q, %v", buf[:max(n, 0)], err)
	}
	if _, err := unix.Getxattr(filepath.Join(dir, "usr/bin/su"), "trusted.overlay.redirect", buf); err == nil {
		t.Error("the layer set an overlayfs xattr")
	}
	if d := lstat(t, filepath.Join(dir, "usr/bin")); d.Mode&0o777 != 0o750 || d.Uid != 3 || d.Mtim.Sec != mtime.Unix() {
		t.Errorf("usr/bin: mode %o uid %d mtime %d", d.Mode&0o777, d.Uid, d.Mtim.Sec)
	}
	if l, _ := os.Readlink(filepath.Join(dir, "bin")); l != "usr/bin" || lstat(t, filepath.Join(dir, "bin")).Uid != 5 {
		t.Errorf("bin -> %q", l)
	}
	if n := lstat(t, filepath.Join(dir, "dev/null")); n.Mode&unix.S_IFMT != unix.S_IFCHR || n.Rdev != unix.Mkdev(1, 3) || n.Mode&0o777 != 0o666 {
		t.Errorf("dev/null: mode %o rdev %d", n.Mode, n.Rdev)
	}
	if f := lstat(t, filepath.Join(dir, "run/fifo")); f.Mode&unix.S_IFMT != unix.S_IFIFO || f.Mode&0o777 != 0o620 {
		t.Errorf("run/fifo: mode %o", f.Mode)
	}
}

// Whiteouts become what overlayfs reads: a 0:0 character device, and
// trusted.overlay.opaque=y on an opaque directory.
func TestUnpackWhiteouts(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	_, err := Unpack(bytes.NewReader(layerTar(t,
		entry{hdr: tar.Header{Name: "etc/.wh.passwd", Typeflag: tar.TypeReg}},
		entry{hdr: tar.Header{Name: "var/cache/", Typeflag: tar.TypeDir, Mode: 0o755}},
		entry{hdr: tar.Header{Name: "var/cache/.wh..wh..opq", Typeflag: tar.TypeReg}},
	)), dir)
	if err != nil {
		t.Fatal(err)
	}
	if w := lstat(t, filepath.Join(dir, "etc/passwd")); w.Mode&unix.S_IFMT != unix.S_IFCHR || w.Rdev != 0 || w.Uid != 0 {
		t.Errorf("whiteout: mode %o rdev %d uid %d", w.Mode, w.Rdev, w.Uid)
	}
	buf := make([]byte, 4)
	if n, err := unix.Lgetxattr(filepath.Join(dir, "var/cache"), "trusted.overlay.opaque", buf); err != nil || string(buf[:n]) != "y" {
		t.Errorf("opaque: %q, %v", buf[:max(n, 0)], err)
	}
	for _, p := range []string{"etc/.wh.passwd", "var/cache/.wh..wh..opq"} {
		if _, err := os.Lstat(filepath.Join(dir, p)); err == nil {
			t.Errorf("%s was written as a file", p)
		}
	}
}

// An entry that would land outside the layer is refused, and nothing is
// made outside it.
func TestUnpackRefusesEscapes(t *testing.T) {
	needRoot(t)
	for name, entries := range map[string][]entry{
		"dot-dot":           {{hdr: tar.Header{Name: "a/../../x", Typeflag: tar.TypeReg}, body: "x"}},
		"absolute":          {{hdr: tar.Header{Name: "/x", Typeflag: tar.TypeReg}, body: "x"}},
		"through a symlink": {{hdr: tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: ".."}}, {hdr: tar.Header{Name: "l/x", Typeflag: tar.TypeReg}, body: "x"}},
		"onto a symlink":    {{hdr: tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "../x"}}, {hdr: tar.Header{Name: "l/", Typeflag: tar.TypeDir}}},
		"hard link out":     {{hdr: tar.Header{Name: "h", Typeflag: tar.TypeLink, Linkname: "../x"}}},
		"hard link through": {{hdr: tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: ".."}}, {hdr: tar.Header{Name: "h", Typeflag: tar.TypeLink, Linkname: "l/x"}}},
		"whiteout out":      {{hdr: tar.Header{Name: "a/.wh...", Typeflag: tar.TypeReg}}},
	} {
		parent := t.TempDir()
		os.WriteFile(filepath.Join(parent, "x"), []byte("outside"), 0o644)
		dir := filepath.Join(parent, "layer")
		os.Mkdir(dir, 0o755)
		if _, err := Unpack(bytes.NewReader(layerTar(t, entries...)), dir); err == nil {
			t.Errorf("%s: accepted", name)
		}
		assertOutsideUntouched(t, parent)
	}
}

// assertOutsideUntouched checks that parent holds only the layer
// directory and the file x, unchanged.
func assertOutsideUntouched(t testing.TB, parent string) {
	t.Helper()
	ents, _ := os.ReadDir(parent)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if b, err := os.ReadFile(filepath.Join(parent, "x")); err != nil || string(b) != "outside" || strings.Join(names, ",") != "layer,x" {
		t.Fatalf("outside the layer: %q; x reads %q, %v", names, b, err)
	}
}

// A later entry of the same name replaces the earlier, as in tar; one
// that would replace a directory is refused.
func TestUnpackReplaces(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	_, err := Unpack(bytes.NewReader(layerTar(t,
		entry{hdr: tar.Header{Name: "f", Typeflag: tar.TypeReg}, body: "first"},
		entry{hdr: tar.Header{Name: "f", Typeflag: tar.TypeSymlink, Linkname: "elsewhere"}},
		entry{hdr: tar.Header{Name: "g", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"}},
		entry{hdr: tar.Header{Name: "g", Typeflag: tar.TypeReg}, body: "mine"},
	)), dir)
	if err != nil {
		t.Fatal(err)
	}
	if l, _ := os.Readlink(filepath.Join(dir, "f")); l != "elsewhere" {
		t.Errorf("f -> %q", l)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "g")); string(b) != "mine" {
		t.Errorf("g reads %q", b)
	}
	_, err = Unpack(bytes.NewReader(layerTar(t,
		entry{hdr: tar.Header{Name: "d/", Typeflag: tar.TypeDir}},
		entry{hdr: tar.Header{Name: "d", Typeflag: tar.TypeReg}, body: "x"},
	)), t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "replaces a directory") {
		t.Errorf("a file over a directory: %v", err)
	}
}

// Whatever entries a layer lists (names, types, link targets: this
// package's work, not archive/tar's parsing), Unpack returns and makes
// nothing outside its directory. Each line of spec is an entry: a type
// letter (f file, d dir, l symlink, h hard link, c char device, p fifo),
// a space, its name, and for links a space and the target. Names stay
// short (USTAR headers, no PAX records), so that the runs are the same
// each time.
func FuzzUnpack(f *testing.F) {
	needRoot(f)
	f.Add("l l ..\nf l/x")
	f.Add("d a\nf a/.wh..wh..opq\nh h a\nf a/.wh.x")
	f.Add("l a /\nd a/b\nh c a/b\nf ./../x\np q\nc d/n")
	f.Fuzz(func(t *testing.T, spec string) {
		parent := t.TempDir()
		os.WriteFile(filepath.Join(parent, "x"), []byte("outside"), 0o644)
		dir := filepath.Join(parent, "layer")
		os.Mkdir(dir, 0o755)
		Unpack(bytes.NewReader(specTar(t, spec)), dir)
		assertOutsideUntouched(t, parent)
	})
}

// specTar makes a tar of FuzzUnpack's entries.
func specTar(t *testing.T, spec string) []byte {
	var entries []entry
	for _, line := range strings.Split(spec, "\n") {
		kind, rest, _ := strings.Cut(line, " ")
		name, link, _ := strings.Cut(rest, " ")
		if len(name) == 0 || len(name) > 90 || len(link) > 90 || len(entries) == 64 {
			continue
		}
		h := tar.Header{Name: name, Linkname: link, Format: tar.FormatUSTAR}
		switch kind {
		case "f":
			h.Typeflag = tar.TypeReg
		case "d":
			h.Typeflag = tar.TypeDir
		case "l":
			h.Typeflag = tar.TypeSymlink
		case "h":
			h.Typeflag = tar.TypeLink
		case "c":
			h.Typeflag, h.Devmajor, h.Devminor = tar.TypeChar, 1, 3
		case "p":
			h.Typeflag = tar.TypeFifo
		default:
			continue
		}
		entries = append(entries, entry{hdr: h, body: map[bool]string{true: "data"}[kind == "f"]})
	}
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range entries {
		h := e.hdr
		h.Size, h.Mode = int64(len(e.body)), 0o644
		if tw.WriteHeader(&h) != nil {
			continue // a name USTAR cannot hold
		}
		tw.Write([]byte(e.body))
	}
	tw.Close()
	return b.Bytes()
}

// A sparse entry is refused: its holes would be written as zeros, and a
// few bytes of tar could declare terabytes.
func TestSparseEntriesAreRefused(t *testing.T) {
	for _, h := range []*tar.Header{
		{Typeflag: tar.TypeGNUSparse, Name: "s"},
		{Typeflag: tar.TypeReg, Name: "s", PAXRecords: map[string]string{"GNU.sparse.major": "1", "GNU.sparse.realsize": "1099511627776"}},
	} {
		if !isSparse(h) {
			t.Errorf("%+v is not seen as sparse", h)
		}
	}
	if isSparse(&tar.Header{Typeflag: tar.TypeReg, PAXRecords: map[string]string{"SCHILY.xattr.user.a": "b"}}) {
		t.Error("a plain file is seen as sparse")
	}
}
