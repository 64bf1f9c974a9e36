package debian

import (
	"archive/tar"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// writeLayer writes the tree at dir as a layer tarball at out: owners,
// modes, times, symlinks, hard links and security/user xattrs kept; an
// overlayfs whiteout (a 0:0 character device) becomes an OCI whiteout
// file (.wh.NAME) and an opaque directory gets .wh..wh..opq. What lies
// in dev, proc and sys is left out (a runtime mounts its own).
func writeLayer(dir, out string) error {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(f)
	links := map[uint64]string{} // inode -> first name
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		if top, rest, _ := strings.Cut(rel, "/"); rest != "" && (top == "dev" || top == "proc" || top == "sys") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		return addEntry(tw, p, rel, links)
	})
	if cerr := tw.Close(); err == nil {
		err = cerr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(out)
	}
	return err
}

// addEntry writes the file at p as name.
func addEntry(tw *tar.Writer, p, name string, links map[uint64]string) error {
	info, err := os.Lstat(p)
	if err != nil {
		return err
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("%s: no stat", p)
	}
	if info.Mode()&fs.ModeCharDevice != 0 && st.Rdev == 0 {
		dir, base := path.Split(name)
		return tw.WriteHeader(&tar.Header{Name: dir + ".wh." + base, Typeflag: tar.TypeReg, Mode: 0o600, ModTime: info.ModTime(), Format: tar.FormatPAX})
	}
	link := ""
	if info.Mode()&fs.ModeSymlink != 0 {
		if link, err = os.Readlink(p); err != nil {
			return err
		}
	}
	h, err := tar.FileInfoHeader(info, link)
	if err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	h.Name, h.Uid, h.Gid, h.Uname, h.Gname, h.Format = name, int(st.Uid), int(st.Gid), "", "", tar.FormatPAX
	h.AccessTime, h.ChangeTime = time.Time{}, time.Time{}
	if info.IsDir() {
		h.Name += "/"
	}
	if info.Mode().IsRegular() && st.Nlink > 1 {
		if first, ok := links[st.Ino]; ok {
			h.Typeflag, h.Linkname, h.Size = tar.TypeLink, first, 0
		} else {
			links[st.Ino] = name
		}
	}
	if h.PAXRecords, err = xattrs(p); err != nil {
		return err
	}
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	if h.Typeflag == tar.TypeReg && h.Size > 0 {
		if err := copyFile(tw, p); err != nil {
			return err
		}
	}
	if info.IsDir() && opaque(p) {
		return tw.WriteHeader(&tar.Header{Name: name + "/.wh..wh..opq", Typeflag: tar.TypeReg, Mode: 0o600, ModTime: info.ModTime(), Format: tar.FormatPAX})
	}
	return nil
}

func copyFile(w io.Writer, p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

// opaque says whether overlayfs marked directory p opaque.
func opaque(p string) bool {
	b := make([]byte, 4)
	n, err := unix.Lgetxattr(p, "trusted.overlay.opaque", b)
	return err == nil && string(b[:n]) == "y"
}

// xattrs are p's security.* and user.* extended attributes as PAX
// records (overlayfs's trusted.* ones are its own bookkeeping).
func xattrs(p string) (map[string]string, error) {
	buf := make([]byte, 4096)
	n, err := unix.Llistxattr(p, buf)
	if err != nil || n == 0 {
		return nil, nil // no xattrs, or a file system without them
	}
	recs := map[string]string{}
	for _, name := range strings.Split(strings.TrimRight(string(buf[:n]), "\x00"), "\x00") {
		if !strings.HasPrefix(name, "security.") && !strings.HasPrefix(name, "user.") {
			continue
		}
		val := make([]byte, 64<<10)
		m, err := unix.Lgetxattr(p, name, val)
		if err != nil {
			return nil, fmt.Errorf("%s: xattr %s: %w", p, name, err)
		}
		recs["SCHILY.xattr."+name] = string(val[:m])
	}
	if len(recs) == 0 {
		return nil, nil
	}
	return recs, nil
}
