// Package unpack takes the kernel out of a bzImage on the host: the
// compressed vmlinux that the bzImage's decompressor would otherwise
// unpack inside the guest at every boot. It is apart from package boot
// so that the vmm binary, which every VM process maps, does not carry
// the decompressors (vmm-tools does the unpacking).
package unpack

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/xi2/xz"

	"github.com/vmmlab/vmm/boot"
	"github.com/vmmlab/vmm/kernelcache"
)

// Offsets of the compressed kernel in the setup header (protocol 2.08).
const (
	hdrPayloadOffset = 0x248
	hdrPayloadLength = 0x24c
	maxVmlinuxBytes  = 512 << 20
)

// ErrNoPayload is wrapped when a bzImage's compressed kernel cannot be
// unpacked on the host (too old a header, or a compression vmm does not
// read): such a kernel boots through its own decompressor.
var ErrNoPayload = errors.New("no compressed kernel vmm can unpack")

// Vmlinux unpacks the kernel a bzImage carries: its payload (what the
// bzImage's decompressor would unpack in the guest) is the kernel's ELF
// file, compressed, then the kernel's own relocation table, then the
// unpacked size as 4 little-endian bytes. Vmlinux returns the unpacked
// bytes (ELF file first), after checking their size against the trailer.
// xz (Debian's kernels) and gzip are read; the output is limited to
// 512 MiB whatever the header claims, so a hostile image cannot exhaust
// the host's memory.
func Vmlinux(bzImage []byte) ([]byte, error) {
	im, err := boot.ParseBzImage(bzImage)
	if err != nil {
		return nil, err
	}
	if im.Protocol < 0x0208 {
		return nil, fmt.Errorf("%w: boot protocol %d.%02d has no payload fields", ErrNoPayload, im.Protocol>>8, im.Protocol&0xff)
	}
	le := binary.LittleEndian // ParseBzImage checked that the header reaches past 0x250
	off, n := uint64(le.Uint32(bzImage[hdrPayloadOffset:])), uint64(le.Uint32(bzImage[hdrPayloadLength:]))
	if off > uint64(len(im.Kernel)) || n > uint64(len(im.Kernel))-off || n < 8 {
		return nil, fmt.Errorf("%w: payload of %d bytes at %#x outside the %d-byte kernel", boot.ErrNotBzImage, n, off, len(im.Kernel))
	}
	payload := im.Kernel[off : off+n]
	stream, want := payload[:n-4], uint64(le.Uint32(payload[n-4:]))
	if want > maxVmlinuxBytes {
		return nil, fmt.Errorf("%w: the payload claims %d unpacked bytes, more than %d", boot.ErrNotBzImage, want, maxVmlinuxBytes)
	}
	var r io.Reader
	switch {
	case bytes.HasPrefix(stream, []byte("\xfd7zXZ\x00")):
		zr, err := xz.NewReader(bytes.NewReader(stream), 0)
		if err != nil {
			return nil, fmt.Errorf("unpack the kernel (xz): %w", err)
		}
		r = zr
	case bytes.HasPrefix(stream, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(bytes.NewReader(stream))
		if err != nil {
			return nil, fmt.Errorf("unpack the kernel (gzip): %w", err)
		}
		r = zr
	default:
		return nil, fmt.Errorf("%w: payload starts % x (vmm reads xz and gzip)", ErrNoPayload, stream[:min(len(stream), 4)])
	}
	out := bytes.NewBuffer(make([]byte, 0, min(want, 16*uint64(len(stream)))))
	got, err := io.Copy(out, io.LimitReader(r, int64(want)+1))
	if err != nil {
		return nil, fmt.Errorf("unpack the kernel: %w", err)
	}
	if uint64(got) != want {
		return nil, fmt.Errorf("%w: the payload unpacked to %d bytes, its trailer says %d", boot.ErrNotBzImage, got, want)
	}
	return out.Bytes(), nil
}

// Into makes sure the cache d holds the bzImage at path unpacked, or the
// reason it cannot boot unpacked (ErrNoPayload, or no PVH entry point),
// and returns what d holds for it now. Only a malformed bzImage is an
// error: it would not boot either way.
func Into(d kernelcache.Dir, path string) (kernelcache.Entry, error) {
	e, err := d.Find(path) // the key first: it names the file as it was before the read
	if err != nil || e.Vmlinux != "" || e.Refused != "" {
		return e, err
	}
	bz, err := os.ReadFile(path)
	if err != nil {
		return e, fmt.Errorf("kernel: %w", err)
	}
	elf, err := Vmlinux(bz)
	if err == nil {
		_, err = boot.ParseELF(elf)
	}
	switch {
	case errors.Is(err, ErrNoPayload) || errors.Is(err, boot.ErrNotPVH):
		e.Refused = err.Error()
		return e, d.Refuse(e.Key, e.Refused)
	case err != nil:
		return e, fmt.Errorf("unpack %s: %w", path, err)
	}
	e.Vmlinux, err = d.Store(e.Key, elf)
	return e, err
}
