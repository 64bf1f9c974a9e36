package initramfs

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/u-root/u-root/pkg/cpio"
)

func TestExtractTo(t *testing.T) {
	var a Archive
	for _, err := range []error{a.AddFile("bin/hello", 0o755, []byte("hi")), a.AddSymlink("bin/sh", "hello"),
		a.AddCharDev("dev/console", 0o600, 5, 1), a.AddDir("tmp", 0o1777)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	if err := a.ExtractTo(dir); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "bin/sh"))
	if err != nil || string(b) != "hi" {
		t.Fatalf("bin/sh through the symlink: %q %v", b, err)
	}
	st, err := os.Stat(filepath.Join(dir, "bin/hello"))
	if err != nil || st.Mode().Perm() != 0o755 {
		t.Fatalf("mode %v %v", st.Mode(), err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "dev/console")); !os.IsNotExist(err) {
		t.Fatalf("device node extracted: %v", err)
	}
	if st, err := os.Stat(filepath.Join(dir, "dev")); err != nil || !st.IsDir() {
		t.Fatalf("the device node's directory (a mount point for /dev) is missing: %v", err)
	}
	p := filepath.Join(dir, "img.gz")
	f, _ := os.Create(p)
	if err := a.WriteGzip(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	back, err := ReadFile(p)
	if err != nil || len(back.Paths()) != len(a.Paths()) {
		t.Fatalf("read back: %v (%d entries)", err, len(back.Paths()))
	}
}

// escapeArchive lists a/l/file before a/l, a symlink to target: an
// extraction that follows links writes file into target.
func escapeArchive(t testing.TB, target string) []byte {
	var b bytes.Buffer
	w := cpio.Newc.Writer(&b)
	for _, r := range []cpio.Record{
		cpio.StaticFile("a/l/file", "escaped", 0o644),
		cpio.Symlink("a/l", target),
	} {
		if err := w.WriteRecord(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := cpio.WriteTrailer(w); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// An archive whose entries lead through a symlink cannot write outside
// the extraction root: it is refused, and nothing lands outside.
func TestExtractNeverFollowsLinks(t *testing.T) {
	base := t.TempDir()
	outside := filepath.Join(base, "outside")
	os.Mkdir(outside, 0o755)
	for _, target := range []string{outside, "../../outside"} {
		root := filepath.Join(base, "root")
		os.RemoveAll(root)
		os.Mkdir(root, 0o755)
		var a Archive
		err := ReadNewc(bytes.NewReader(escapeArchive(t, target)), &a)
		if err == nil {
			err = a.ExtractTo(root)
		}
		if err == nil {
			t.Errorf("target %s: the archive was extracted", target)
		}
		if ents, _ := os.ReadDir(outside); len(ents) > 0 {
			t.Fatalf("target %s: the extraction wrote %s outside its root", target, ents[0].Name())
		}
	}
}

// ExtractTo itself follows no link, whatever the archive let in: entries
// set directly, past the checks of add.
func TestExtractToRefusesPathsThroughSymlinks(t *testing.T) {
	base := t.TempDir()
	outside := filepath.Join(base, "outside")
	root := filepath.Join(base, "root")
	os.Mkdir(outside, 0o755)
	os.Mkdir(root, 0o755)
	os.Symlink(outside, filepath.Join(root, "planted")) // a link already in the root
	a := Archive{entries: map[string]entry{
		"a/l":            {mode: typeSymlink | 0o777, data: []byte(outside)},
		"a/l/file":       {mode: typeFile | 0o644, data: []byte("x")},
		"planted/file":   {mode: typeFile | 0o644, data: []byte("x")},
		"planted":        {mode: typeDir | 0o755},
		"a/l/d/deeper":   {mode: typeDir | 0o755},
		"b/l2":           {mode: typeSymlink | 0o777, data: []byte(outside + "/f")},
		"b/l2/../../../": {mode: typeFile | 0o644},
	}}
	for p, e := range a.entries {
		one := Archive{entries: map[string]entry{p: e}}
		if p == "a/l/file" || p == "a/l/d/deeper" {
			one.entries["a/l"] = a.entries["a/l"]
		}
		one.ExtractTo(root)
	}
	if ents, _ := os.ReadDir(outside); len(ents) > 0 {
		t.Fatalf("the extraction wrote %s outside its root", ents[0].Name())
	}
	one := Archive{entries: map[string]entry{"planted/file": {mode: typeFile | 0o644}}}
	if err := one.ExtractTo(root); err == nil {
		t.Fatal("a path through a symlink in the root was extracted")
	}
}

// FuzzExtract: no archive writes outside the extraction root or panics.
func FuzzExtract(f *testing.F) {
	f.Add(escapeArchive(f, "../outside"))
	f.Add(escapeArchive(f, "/tmp"))
	var a Archive
	a.AddFile("bin/x", 0o755, []byte("x"))
	a.AddSymlink("bin/y", "x")
	a.AddDir("tmp", 0o1777)
	var b bytes.Buffer
	a.WriteTo(&b)
	f.Add(b.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		base := t.TempDir()
		root := filepath.Join(base, "root")
		os.Mkdir(root, 0o755)
		var a Archive
		if ReadNewc(bytes.NewReader(data), &a) != nil && len(a.entries) == 0 {
			return
		}
		a.ExtractTo(root)
		ents, _ := os.ReadDir(base)
		if len(ents) != 1 {
			t.Fatalf("the extraction made %d entries beside its root", len(ents)-1)
		}
	})
}
