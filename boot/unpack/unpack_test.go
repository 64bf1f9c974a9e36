package unpack

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"os"
	"testing"

	"github.com/vmmlab/vmm/boot"
)

// rawKernel is testdata/pvh-kernel.bin: a small PVH kernel (ELF) as
// package boot's tests build it, then 4 KiB standing for the relocation
// table. testdata/pvh-kernel.xz is it packed as the kernel's build packs
// a bzImage's payload: `xz --check=crc32 --x86 --lzma2=dict=1MiB`.
func rawKernel(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/pvh-kernel.bin")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// debianHead is the setup area of Debian's vmlinuz-6.1.0-56-amd64 (package
// boot's testdata).
func debianHead(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("../testdata/debian-6.1-head.bin")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// withPayload is Debian's setup header with its payload replaced: some
// bytes of decompressor code, then the compressed kernel and the
// unpacked size as the kernel's build appends it.
func withPayload(t *testing.T, compressed []byte, size uint32) []byte {
	t.Helper()
	head := debianHead(t)[:40*512]
	code := bytes.Repeat([]byte{0x90}, 0x2cc)
	payload := binary.LittleEndian.AppendUint32(append([]byte(nil), compressed...), size)
	b := append(append(append([]byte(nil), head...), code...), payload...)
	binary.LittleEndian.PutUint32(b[hdrPayloadOffset:], uint32(len(code)))
	binary.LittleEndian.PutUint32(b[hdrPayloadLength:], uint32(len(payload)))
	return b
}

func TestVmlinuxXZ(t *testing.T) {
	xzKernel, err := os.ReadFile("testdata/pvh-kernel.xz")
	if err != nil {
		t.Fatal(err)
	}
	want := rawKernel(t)
	got, err := Vmlinux(withPayload(t, xzKernel, uint32(len(want))))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("unpacked %d bytes, not the %d packed", len(got), len(want))
	}
	// What comes out boots as a PVH kernel: the relocation table after
	// the ELF file does not disturb it.
	if im, err := boot.ParseELF(got); err != nil || im.Entry != 0x01001240 {
		t.Fatalf("the unpacked kernel: %+v, %v", im, err)
	}
}

func TestVmlinuxGzip(t *testing.T) {
	want := rawKernel(t)
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write(want)
	w.Close()
	got, err := Vmlinux(withPayload(t, gz.Bytes(), uint32(len(want))))
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("unpacked %d bytes, err %v; want the %d packed", len(got), err, len(want))
	}
}

func TestVmlinuxRejects(t *testing.T) {
	xzKernel, err := os.ReadFile("testdata/pvh-kernel.xz")
	if err != nil {
		t.Fatal(err)
	}
	n := uint32(len(rawKernel(t)))
	truncated := xzKernel[:len(xzKernel)-20]
	corrupt := append([]byte(nil), xzKernel...)
	corrupt[len(corrupt)/2] ^= 0xff
	lz4 := []byte{0x02, 0x21, 0x4c, 0x18, 1, 2, 3, 4}
	pastEnd := withPayload(t, xzKernel, n)
	binary.LittleEndian.PutUint32(pastEnd[hdrPayloadLength:], 1<<30)
	for name, tc := range map[string]struct {
		image []byte
		want  error
	}{
		"size trailer too small": {withPayload(t, xzKernel, n-1), boot.ErrNotBzImage},
		"size trailer too large": {withPayload(t, xzKernel, n+1), boot.ErrNotBzImage},
		"size over the limit":    {withPayload(t, xzKernel, maxVmlinuxBytes+1), boot.ErrNotBzImage},
		"truncated stream":       {withPayload(t, truncated, n), nil},
		"corrupt stream":         {withPayload(t, corrupt, n), nil},
		"lz4 (not read)":         {withPayload(t, lz4, 100), ErrNoPayload},
		"payload past the end":   {pastEnd, boot.ErrNotBzImage},
		"not a bzImage":          {rawKernel(t), boot.ErrNotBzImage},
	} {
		got, err := Vmlinux(tc.image)
		if err == nil {
			t.Errorf("%s: unpacked %d bytes, want an error", name, len(got))
			continue
		}
		if tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
}

// A bzImage is untrusted input: no payload may panic the unpacker or
// make it allocate past its limit.
func FuzzVmlinux(f *testing.F) {
	xzKernel, err := os.ReadFile("testdata/pvh-kernel.xz")
	if err != nil {
		f.Fatal(err)
	}
	head := debianHead(f)[:40*512]
	f.Add(xzKernel, uint32(len(rawKernel(f))))
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0}, uint32(10))
	f.Fuzz(func(t *testing.T, compressed []byte, size uint32) {
		payload := binary.LittleEndian.AppendUint32(append([]byte(nil), compressed...), size)
		b := append(append([]byte(nil), head...), payload...)
		binary.LittleEndian.PutUint32(b[hdrPayloadOffset:], 0)
		binary.LittleEndian.PutUint32(b[hdrPayloadLength:], uint32(len(payload)))
		if out, err := Vmlinux(b); err == nil && uint32(len(out)) != size {
			t.Fatalf("unpacked %d bytes, trailer %d", len(out), size)
		}
	})
}
