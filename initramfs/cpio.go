// Package initramfs owns building initramfs images: a reproducible archive
// (fixed mtimes, sorted entries, parents created first, paths checked)
// written as newc cpio records by u-root's pkg/cpio, and the resolution of
// kernel-module load order from modules.dep.
package initramfs

import (
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/u-root/u-root/pkg/cpio"
)

// File type bits of a cpio mode.
const (
	typeMask    = 0o170000
	typeDir     = 0o040000
	typeFile    = 0o100000
	typeSymlink = 0o120000
	typeChar    = 0o020000
)

type entry struct {
	mode         uint32
	data         []byte // file contents or symlink target
	major, minor uint32 // device numbers of a device node
}

// Archive is an initramfs being assembled in memory. The zero value is empty
// and ready to use. Paths are relative to the image root ("bin/sh").
type Archive struct {
	entries map[string]entry
}

func cleanPath(p string) (string, error) {
	c := path.Clean("/" + p)[1:]
	if c == "" || strings.Contains(p, "\x00") {
		return "", fmt.Errorf("initramfs: bad path %q", p)
	}
	for _, part := range strings.Split(p, "/") {
		if part == ".." {
			return "", fmt.Errorf("initramfs: path %q leaves the image root", p)
		}
	}
	return c, nil
}

func (a *Archive) add(p string, e entry) error {
	c, err := cleanPath(p)
	if err != nil {
		return err
	}
	if a.entries == nil {
		a.entries = map[string]entry{}
	}
	if old, ok := a.entries[c]; ok {
		if old.mode&typeMask == typeDir && e.mode&typeMask == typeDir {
			return nil
		}
		return fmt.Errorf("initramfs: %s added twice", c)
	}
	for dir := path.Dir(c); dir != "."; dir = path.Dir(dir) {
		if old, ok := a.entries[dir]; ok && old.mode&typeMask != typeDir {
			return fmt.Errorf("initramfs: %s needs %s to be a directory", c, dir)
		}
	}
	a.entries[c] = e
	return nil
}

// AddDir adds a directory with permissions perm.
func (a *Archive) AddDir(p string, perm os.FileMode) error {
	return a.add(p, entry{mode: typeDir | uint32(perm.Perm())})
}

// AddFile adds a regular file with the given contents and permissions.
func (a *Archive) AddFile(p string, perm os.FileMode, data []byte) error {
	return a.add(p, entry{mode: typeFile | uint32(perm.Perm()), data: data})
}

// AddFileFrom adds the host file src at p, keeping its permission bits.
func (a *Archive) AddFileFrom(p, src string) error {
	st, err := os.Stat(src)
	if err != nil {
		return fmt.Errorf("initramfs: %w", err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("initramfs: %s is not a regular file", src)
	}
	data, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("initramfs: %w", err)
	}
	return a.AddFile(p, st.Mode().Perm(), data)
}

// AddSymlink adds a symbolic link to target.
func (a *Archive) AddSymlink(p, target string) error {
	return a.add(p, entry{mode: typeSymlink | 0o777, data: []byte(target)})
}

// AddCharDev adds a character device node.
func (a *Archive) AddCharDev(p string, perm os.FileMode, major, minor uint32) error {
	return a.add(p, entry{mode: typeChar | uint32(perm.Perm()), major: major, minor: minor})
}

// Paths lists every path in the order WriteTo writes them, parent
// directories included.
func (a *Archive) Paths() []string {
	all := map[string]bool{}
	for p := range a.entries {
		all[p] = true
		for dir := path.Dir(p); dir != "."; dir = path.Dir(dir) {
			all[dir] = true
		}
	}
	paths := make([]string, 0, len(all))
	for p := range all {
		paths = append(paths, p)
	}
	sort.Strings(paths) // a parent sorts before everything below it
	return paths
}

// WriteTo writes the archive as an uncompressed newc cpio, with u-root's
// newc record writer (pkg/cpio). The output depends only on the archive's
// contents: mtimes are 0, owners root, inodes numbered in path order.
func (a *Archive) WriteTo(w io.Writer) (int64, error) {
	cw := &countingWriter{w: w}
	rw := cpio.Newc.Writer(cw)
	for i, p := range a.Paths() {
		e, ok := a.entries[p]
		if !ok {
			e = entry{mode: typeDir | 0o755}
		}
		if err := rw.WriteRecord(cpioRecord(uint64(i+1), p, e)); err != nil {
			return cw.n, fmt.Errorf("initramfs: %s: %w", p, err)
		}
	}
	if err := cpio.WriteTrailer(rw); err != nil {
		return cw.n, fmt.Errorf("initramfs: trailer: %w", err)
	}
	return cw.n, nil
}

// WriteGzip writes the archive gzip-compressed, with no name or time in the
// gzip header, so the result is reproducible too.
func (a *Archive) WriteGzip(w io.Writer) error {
	zw, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		return err
	}
	if _, err := a.WriteTo(zw); err != nil {
		return fmt.Errorf("initramfs: %w", err)
	}
	return zw.Close()
}

// cpioRecord is entry e at path p as a cpio record with inode ino: owner
// root, mtime 0, so that the image is reproducible.
func cpioRecord(ino uint64, p string, e entry) cpio.Record {
	nlink := uint64(1)
	if e.mode&typeMask == typeDir {
		nlink = 2
	}
	return cpio.StaticRecord(e.data, cpio.Info{Ino: ino, Mode: uint64(e.mode), NLink: nlink,
		Rmajor: uint64(e.major), Rminor: uint64(e.minor), Name: p})
}

// countingWriter counts the bytes written, for WriteTo's result.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
