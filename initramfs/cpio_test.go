package initramfs

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

type record struct {
	name         string
	mode         uint32
	data         string
	major, minor uint32
}

// readNewc parses a newc archive, checking padding and the trailer.
func readNewc(t *testing.T, b []byte) []record {
	t.Helper()
	var out []record
	off := 0
	field := func(i int) uint32 {
		v, err := strconv.ParseUint(string(b[off+6+8*i:off+14+8*i]), 16, 32)
		if err != nil {
			t.Fatalf("bad header field at %d: %v", off, err)
		}
		return uint32(v)
	}
	align := func(n int) int { return (n + 3) &^ 3 }
	for {
		if off+110 > len(b) || string(b[off:off+6]) != "070701" {
			t.Fatalf("no newc header at offset %d", off)
		}
		mode, size, major, minor, nameLen := field(1), int(field(6)), field(9), field(10), int(field(11))
		name := string(b[off+110 : off+110+nameLen-1])
		dataOff := align(off + 110 + nameLen)
		if name == "TRAILER!!!" {
			if align(dataOff) != len(b) {
				t.Fatalf("%d bytes after the trailer", len(b)-dataOff)
			}
			return out
		}
		out = append(out, record{name, mode, string(b[dataOff : dataOff+size]), major, minor})
		off = align(dataOff + size)
	}
}

func sample(t *testing.T, reverse bool) *Archive {
	t.Helper()
	var a Archive
	steps := []func() error{
		func() error { return a.AddFile("bin/busybox", 0o755, []byte("ELF...")) },
		func() error { return a.AddSymlink("bin/sh", "busybox") },
		func() error { return a.AddCharDev("/dev/console", 0o600, 5, 1) },
		func() error { return a.AddFile("init", 0o755, []byte("#!/bin/sh\n")) },
		func() error { return a.AddFile("lib/modules/kvm.ko", 0o644, []byte("odd")) },
	}
	if reverse {
		for i, j := 0, len(steps)-1; i < j; i, j = i+1, j-1 {
			steps[i], steps[j] = steps[j], steps[i]
		}
	}
	for _, s := range steps {
		if err := s(); err != nil {
			t.Fatal(err)
		}
	}
	return &a
}

func TestWriteNewc(t *testing.T) {
	var buf bytes.Buffer
	if _, err := sample(t, false).WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	got := readNewc(t, buf.Bytes())
	want := []record{
		{"bin", typeDir | 0o755, "", 0, 0},
		{"bin/busybox", typeFile | 0o755, "ELF...", 0, 0},
		{"bin/sh", typeSymlink | 0o777, "busybox", 0, 0},
		{"dev", typeDir | 0o755, "", 0, 0},
		{"dev/console", typeChar | 0o600, "", 5, 1},
		{"init", typeFile | 0o755, "#!/bin/sh\n", 0, 0},
		{"lib", typeDir | 0o755, "", 0, 0},
		{"lib/modules", typeDir | 0o755, "", 0, 0},
		{"lib/modules/kvm.ko", typeFile | 0o644, "odd", 0, 0},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d records %+v", len(got), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("record %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	// GNU cpio, when installed, agrees with our reading.
	if _, err := exec.LookPath("cpio"); err == nil {
		cmd := exec.Command("cpio", "-it", "--quiet")
		cmd.Stdin = bytes.NewReader(buf.Bytes())
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("cpio -it: %v", err)
		}
		if lines := strings.Fields(string(out)); len(lines) != len(want) || lines[4] != "dev/console" {
			t.Errorf("cpio -it listed %q", lines)
		}
	}
}

func TestReproducible(t *testing.T) {
	var a, b bytes.Buffer
	if err := sample(t, false).WriteGzip(&a); err != nil {
		t.Fatal(err)
	}
	if err := sample(t, true).WriteGzip(&b); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("same contents added in another order gave different bytes")
	}
	zr, err := gzip.NewReader(&a)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if len(readNewc(t, raw)) != 9 {
		t.Fatal("gzip payload is not the archive")
	}
}

func TestBadPaths(t *testing.T) {
	var a Archive
	for _, p := range []string{"", "/", "../etc/passwd", "a/../../b", "x\x00y"} {
		if err := a.AddFile(p, 0o644, nil); err == nil {
			t.Errorf("AddFile(%q) accepted", p)
		}
	}
	if err := a.AddFile("f", 0o644, nil); err != nil {
		t.Fatal(err)
	}
	if err := a.AddFile("f", 0o644, nil); err == nil {
		t.Error("duplicate path accepted")
	}
	if err := a.AddFile("f/g", 0o644, nil); err == nil {
		t.Error("a file used as a directory accepted")
	}
	if err := a.AddFileFrom("x", t.TempDir()); err == nil {
		t.Error("a directory accepted as a file source")
	}
	if err := a.AddFileFrom("x", "/nonexistent"); !os.IsNotExist(errUnwrapAll(err)) {
		t.Errorf("missing source: %v", err)
	}
}

func errUnwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}
