package initramfs

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
)

// Limits on what ReadNewc accepts from an archive.
const (
	maxNameSize = 4096
	maxFileSize = 1 << 30
)

// ReadNewc adds every entry of an uncompressed newc cpio archive to a:
// directories, regular files, symlinks and character devices.
//
// Writing goes through u-root's pkg/cpio, reading does not: its newc
// reader (v0.15.0) allocates whatever name length a header claims, up to
// 4 GiB, before it reads a byte of the name, and an image handed to vmm
// (vmm container run --image) is untrusted input that must give an error,
// not exhaust memory. This reader checks every size against the limits
// below first.
//
// Owners, times and inode numbers are dropped (WriteTo sets them afresh).
// A malformed or truncated archive is an error.
func ReadNewc(r io.Reader, a *Archive) error {
	br := bufio.NewReader(r)
	var off int64
	read := func(n int64) ([]byte, error) {
		b := make([]byte, n)
		_, err := io.ReadFull(br, b)
		off += n
		return b, err
	}
	skipPad := func() error {
		if pad := (4 - off%4) % 4; pad > 0 {
			_, err := read(pad)
			return err
		}
		return nil
	}
	for {
		h, err := read(110)
		if err != nil {
			return fmt.Errorf("cpio: header at %d: %w", off-110, errors.Join(err, io.ErrUnexpectedEOF))
		}
		if string(h[:6]) != "070701" {
			return fmt.Errorf("cpio: bad magic %q at %d (only newc archives are read)", h[:6], off-110)
		}
		field := func(i int) (int64, error) {
			v, err := strconv.ParseUint(string(h[6+8*i:14+8*i]), 16, 32)
			return int64(v), err
		}
		var f [13]int64
		for i := range f {
			if f[i], err = field(i); err != nil {
				return fmt.Errorf("cpio: bad header field %d at %d", i, off-110)
			}
		}
		mode, size, rmajor, rminor, nameSize := uint32(f[1]), f[6], uint32(f[9]), uint32(f[10]), f[11]
		if nameSize < 1 || nameSize > maxNameSize || size > maxFileSize {
			return fmt.Errorf("cpio: entry at %d: name size %d or file size %d out of range", off-110, nameSize, size)
		}
		nameb, err := read(nameSize)
		if err != nil {
			return fmt.Errorf("cpio: truncated name: %w", err)
		}
		name := string(nameb[:nameSize-1])
		if err := skipPad(); err != nil {
			return fmt.Errorf("cpio: truncated: %w", err)
		}
		data, err := read(size)
		if err != nil {
			return fmt.Errorf("cpio: %s: truncated data: %w", name, err)
		}
		if err := skipPad(); err != nil && name != "TRAILER!!!" {
			return fmt.Errorf("cpio: truncated: %w", err)
		}
		if name == "TRAILER!!!" {
			return nil
		}
		if name == "." || name == "" {
			continue
		}
		perm := os.FileMode(mode & 0o7777)
		switch mode & typeMask {
		case typeDir:
			err = a.AddDir(name, perm)
		case typeFile:
			err = a.AddFile(name, perm, data)
		case typeSymlink:
			err = a.AddSymlink(name, string(data))
		case typeChar:
			err = a.AddCharDev(name, perm, rmajor, rminor)
		default:
			err = fmt.Errorf("cpio: %s: unsupported file type %#o", name, mode&typeMask)
		}
		if err != nil {
			return err
		}
	}
}
