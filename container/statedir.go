package container

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// StateDir is the private directory for bundles of kind ("containers",
// "bench"): $XDG_RUNTIME_DIR/vmm/KIND first, then /run/vmm/KIND. Both it
// and its vmm parent must be directories (not symlinks) owned by this
// user with no access for anyone else: a bundle's config.json is read by
// the runtime after vmm wrote it, and a directory another local user can
// write would let them swap it. It refuses rather than fall back to a
// shared directory such as /tmp.
func StateDir(kind string) (string, error) {
	var bases []string
	if x := os.Getenv("XDG_RUNTIME_DIR"); x != "" {
		bases = append(bases, filepath.Join(x, "vmm"))
	}
	bases = append(bases, "/run/vmm")
	var errs []error
	for _, base := range bases {
		dir := filepath.Join(base, kind)
		err := os.MkdirAll(dir, 0o700)
		if err == nil {
			if err = checkPrivate(base); err == nil {
				err = checkPrivate(dir)
			}
		}
		if err == nil {
			return dir, nil
		}
		errs = append(errs, err)
	}
	return "", fmt.Errorf("no private directory for container bundles (set XDG_RUNTIME_DIR, or run as root for /run/vmm): %w", errors.Join(errs...))
}

// checkPrivate refuses a path that is not a directory owned by this user
// with mode 0700 or stricter.
func checkPrivate(dir string) error {
	st, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("%s is not a directory (%v)", dir, st.Mode().Type())
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("%s: no owner information", dir)
	}
	if uid := os.Geteuid(); int(sys.Uid) != uid {
		return fmt.Errorf("%s belongs to uid %d, not to this user (%d)", dir, sys.Uid, uid)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("%s has mode %v: others may write or read it", dir, st.Mode().Perm())
	}
	return nil
}
