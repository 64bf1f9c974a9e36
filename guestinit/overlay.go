package guestinit

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// mountOverlayRoot mounts disk lower read-only and, over it, an overlay
// at newRoot whose upper layer is upper (tmpfs:SIZE or an ext4 disk):
// the root of an OCI image's process, which may write anywhere while
// the image's disk, shared by every VM of the image, stays as it is.
func mountOverlayRoot(lower Mount, upper string) error {
	for _, d := range []string{overlayLower, overlayUpper} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("overlay root: %w", err)
		}
	}
	if err := unix.Mount(lower.Source, overlayLower, lower.FSType, unix.MS_RDONLY, ""); err != nil {
		return fmt.Errorf("mount the image disk %s (%s) read-only: %w", lower.Source, lower.FSType, err)
	}
	if size, ok := strings.CutPrefix(upper, "tmpfs:"); ok {
		if err := unix.Mount("tmpfs", overlayUpper, "tmpfs", 0, "mode=0755,size="+size); err != nil {
			return fmt.Errorf("overlay root: a tmpfs of %s for what the guest writes: %w", size, err)
		}
	} else if err := unix.Mount(upper, overlayUpper, "ext4", 0, ""); err != nil {
		return fmt.Errorf("overlay root: mount the scratch disk %s (ext4): %w", upper, err)
	}
	up, work := filepath.Join(overlayUpper, "upper"), filepath.Join(overlayUpper, "work")
	for _, d := range []string{up, work} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("overlay root: %w", err)
		}
	}
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", overlayLower, up, work)
	if err := unix.Mount("overlay", newRoot, "overlay", 0, opts); err != nil {
		return fmt.Errorf("overlay root (an upper layer on tmpfs needs a kernel with TMPFS_XATTR): %w", err)
	}
	return nil
}

// writeIdentity gives the root the files a process expects of its host
// where the image has none (/etc/hostname, /etc/hosts,
// /etc/resolv.conf), and sets the host name.
func writeIdentity(con *os.File, name string) {
	if name == "" {
		return
	}
	if err := unix.Sethostname([]byte(name)); err != nil {
		logf(con, "host name: %v", err)
	}
	files := []struct{ path, text string }{
		{"/etc/hostname", name + "\n"},
		{"/etc/hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t" + name + "\n"},
		{"/etc/resolv.conf", "# vmm: this VM has no name server\n"},
	}
	os.MkdirAll("/etc", 0o755)
	for _, f := range files {
		if _, err := os.Lstat(f.path); err == nil {
			continue
		}
		if err := os.WriteFile(f.path, []byte(f.text), 0o644); err != nil {
			logf(con, "%s: %v", f.path, err)
		}
	}
}
