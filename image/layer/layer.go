// Package layer unpacks one OCI image layer, an uncompressed tar, into a
// directory in overlayfs form, so that a stack of such directories
// mounted as overlayfs lower layers is the image's root: a whiteout
// (.wh.NAME) becomes a 0:0 character device NAME, an opaque directory
// marker (.wh..wh..opq) the xattr trusted.overlay.opaque=y on its
// directory. Owners, modes, times, xattrs, hard links, symlinks and
// device nodes are kept, so it needs root. The tar is untrusted: an
// entry that would land outside the directory (an absolute name, "..",
// a path through a symlink) is an error, and nothing is made by path
// (package beneath).
package layer

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vmmlab/vmm/internal/beneath"
)

// Whiteout names, as the OCI image spec writes them in a layer.
const (
	whiteoutPrefix = ".wh."
	opaqueMarker   = ".wh..wh..opq"
	opaqueXattr    = "trusted.overlay.opaque"
	xattrRecord    = "SCHILY.xattr."
)

// Stats count what Unpack made.
type Stats struct {
	Entries int
	Bytes   int64 // of regular files
}

// Unpack reads the tar r into dir, which must exist.
func Unpack(r io.Reader, dir string) (Stats, error) {
	root, err := beneath.OpenRoot(dir)
	if err != nil {
		return Stats{}, fmt.Errorf("layer: %w", err)
	}
	defer unix.Close(root)
	u := unpacker{root: root}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return u.stats, fmt.Errorf("layer: %w", err)
		}
		if err := u.entry(hdr, tr); err != nil {
			return u.stats, fmt.Errorf("layer: %s: %w", hdr.Name, err)
		}
	}
	return u.stats, u.dirTimes()
}

// unpacker makes one layer's entries below root.
type unpacker struct {
	root  int
	stats Stats
	dirs  []*tar.Header // their times are set at the end, after their entries
}

func (u *unpacker) entry(hdr *tar.Header, body io.Reader) error {
	name, err := beneath.Clean(hdr.Name)
	if err != nil || name == "." {
		return err
	}
	parent, err := beneath.OpenDir(u.root, path.Dir(name))
	if err != nil {
		return err
	}
	defer unix.Close(parent)
	base := path.Base(name)
	u.stats.Entries++
	switch {
	case base == opaqueMarker:
		return setOpaque(parent)
	case strings.HasPrefix(base, whiteoutPrefix):
		return u.whiteout(parent, strings.TrimPrefix(base, whiteoutPrefix))
	}
	if isSparse(hdr) {
		// its holes would be written out as zeros: a few bytes of tar
		// could fill the disk (images are built without sparse entries)
		return errors.New("a sparse file: not supported in an image layer")
	}
	if hdr.Typeflag != tar.TypeDir {
		if err := removeNonDir(parent, base); err != nil {
			return err
		}
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := beneath.Mkdir(parent, base, 0o700); err != nil {
			return err
		}
		u.dirs = append(u.dirs, hdr)
		return withNode(parent, base, unix.O_DIRECTORY, func(fd int) error { return setAttrs(fd, hdr) })
	case tar.TypeReg:
		return u.file(parent, base, hdr, body)
	case tar.TypeSymlink:
		if err := unix.Symlinkat(hdr.Linkname, parent, base); err != nil {
			return err
		}
		return setLinkAttrs(parent, base, hdr)
	case tar.TypeLink:
		return u.hardLink(parent, base, hdr.Linkname)
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		mode := map[byte]uint32{tar.TypeChar: unix.S_IFCHR, tar.TypeBlock: unix.S_IFBLK, tar.TypeFifo: unix.S_IFIFO}[hdr.Typeflag]
		if err := unix.Mknodat(parent, base, mode|0o600, int(unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor)))); err != nil {
			return err
		}
		return setLinkAttrs(parent, base, hdr)
	}
	u.stats.Entries--
	return nil // other entries (global headers) make nothing
}

// isSparse reports a GNU sparse entry, old style or in PAX records.
func isSparse(hdr *tar.Header) bool {
	if hdr.Typeflag == tar.TypeGNUSparse {
		return true
	}
	return slices.ContainsFunc(slices.Collect(maps.Keys(hdr.PAXRecords)), func(k string) bool { return strings.HasPrefix(k, "GNU.sparse.") })
}

// file writes a regular file from body.
func (u *unpacker) file(parent int, base string, hdr *tar.Header, body io.Reader) error {
	fd, err := beneath.CreateFile(parent, base, 0o600)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), base)
	defer f.Close()
	n, err := io.Copy(f, body)
	u.stats.Bytes += n
	if err != nil {
		return err
	}
	if err := setAttrs(fd, hdr); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return setTimes(parent, base, hdr)
}

// hardLink links base to an earlier entry of this layer.
func (u *unpacker) hardLink(parent int, base, linkname string) error {
	target, err := beneath.Clean(linkname)
	if err != nil || target == "." {
		return fmt.Errorf("hard link to %q: %w", linkname, err)
	}
	tparent, err := beneath.OpenDir(u.root, path.Dir(target))
	if err != nil {
		return err
	}
	defer unix.Close(tparent)
	return unix.Linkat(tparent, path.Base(target), parent, base, 0) // 0: a symlink is linked, not followed
}

// whiteout hides name of the layers below: a 0:0 character device.
func (u *unpacker) whiteout(parent int, name string) error {
	if name == "" || name == "." || name == ".." {
		return fmt.Errorf("a whiteout of nothing")
	}
	if err := removeNonDir(parent, name); err != nil {
		return err
	}
	return unix.Mknodat(parent, name, unix.S_IFCHR, 0)
}

// setOpaque marks directory dir so that overlayfs shows none of the
// layers below it.
func setOpaque(dir int) error {
	fd, err := unix.Openat(dir, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.Fsetxattr(fd, opaqueXattr, []byte("y"), 0)
}

// removeNonDir removes what is at name, unless it is a directory (which
// another entry of the same name may not replace).
func removeNonDir(dir int, name string) error {
	err := unix.Unlinkat(dir, name, 0)
	switch {
	case err == nil, errors.Is(err, unix.ENOENT):
		return nil
	case errors.Is(err, unix.EISDIR):
		return fmt.Errorf("%s: an entry of the same name replaces a directory", name)
	}
	return err
}

// withNode opens name in dir (never following a symlink) for fn.
func withNode(dir int, name string, flags int, fn func(fd int) error) error {
	fd, err := unix.Openat(dir, name, flags|unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return fn(fd)
}

// setAttrs gives an open file or directory the entry's owner, mode and
// xattrs (the owner first: chown clears the set-id bits); its times come
// once it is written (setTimes).
func setAttrs(fd int, hdr *tar.Header) error {
	if err := unix.Fchown(fd, hdr.Uid, hdr.Gid); err != nil {
		return err
	}
	if err := unix.Fchmod(fd, uint32(hdr.Mode&0o7777)); err != nil {
		return err
	}
	for _, k := range slices.Sorted(maps.Keys(hdr.PAXRecords)) { // in order: the same entry, the same calls
		v := hdr.PAXRecords[k]
		key, ok := strings.CutPrefix(k, xattrRecord)
		if !ok || strings.HasPrefix(key, "trusted.overlay.") {
			continue // an image may not steer overlayfs (redirects, metacopy)
		}
		if err := unix.Fsetxattr(fd, key, []byte(v), 0); err != nil {
			return fmt.Errorf("xattr %s: %w", key, err)
		}
	}
	return nil
}

// setLinkAttrs gives a symlink or device node its owner, mode (not for
// a symlink) and times, by name in dir and without following it.
func setLinkAttrs(dir int, name string, hdr *tar.Header) error {
	if err := unix.Fchownat(dir, name, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	if hdr.Typeflag != tar.TypeSymlink {
		// name was just made by mknodat in dir, which the unpacker alone
		// writes: it is the node, not a symlink
		if err := unix.Fchmodat(dir, name, uint32(hdr.Mode&0o7777), 0); err != nil {
			return err
		}
	}
	return setTimes(dir, name, hdr)
}

// setTimes sets the access and modification times of name in dir (not
// following a symlink).
func setTimes(dir int, name string, hdr *tar.Header) error {
	atime := hdr.AccessTime
	if atime.IsZero() {
		atime = hdr.ModTime
	}
	ts := []unix.Timespec{unix.NsecToTimespec(atime.UnixNano()), unix.NsecToTimespec(hdr.ModTime.UnixNano())}
	if hdr.ModTime.IsZero() {
		now := unix.NsecToTimespec(time.Now().UnixNano())
		ts = []unix.Timespec{now, now}
	}
	return unix.UtimesNanoAt(dir, name, ts, unix.AT_SYMLINK_NOFOLLOW)
}

// dirTimes sets each directory's times once its entries are made.
func (u *unpacker) dirTimes() error {
	for _, hdr := range u.dirs {
		name, _ := beneath.Clean(hdr.Name)
		parent, err := beneath.OpenDir(u.root, path.Dir(name))
		if err != nil {
			return fmt.Errorf("layer: %s: %w", hdr.Name, err)
		}
		err = setTimes(parent, path.Base(name), hdr)
		unix.Close(parent)
		if err != nil {
			return fmt.Errorf("layer: %s: %w", hdr.Name, err)
		}
	}
	return nil
}
