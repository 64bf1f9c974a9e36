// Package cachedir owns where vmm's programs keep their cache (kernels,
// the u-root build, container roots, the default initramfs) and the
// check that nobody but the user and root can put files there: vmm, the
// bench and the lab trust what they find in it, often as root.
package cachedir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// rootCache is root's cache when it has neither $XDG_CACHE_HOME nor
// $HOME.
const rootCache = "/var/cache/vmm"

// Dir is the cache directory, made (mode 0700) if missing and checked:
// $XDG_CACHE_HOME/vmm, else $HOME/.cache/vmm, else for root
// /var/cache/vmm. It and every directory above it must belong to root or
// the user and be writable by nobody else (a root-owned sticky directory
// such as /tmp passes above it, never as the cache itself).
func Dir() (string, error) {
	dir, err := Path(os.Getenv, os.Geteuid())
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("cache directory: %w", err)
	}
	if err := Check(dir, os.Geteuid()); err != nil {
		return "", err
	}
	return dir, nil
}

// Path chooses the cache directory from the environment and the
// effective user, without looking at the file system.
func Path(getenv func(string) string, euid int) (string, error) {
	if x := getenv("XDG_CACHE_HOME"); filepath.IsAbs(x) { // the XDG spec: a relative one is ignored
		return filepath.Join(x, "vmm"), nil
	}
	if h := getenv("HOME"); filepath.IsAbs(h) {
		return filepath.Join(h, ".cache", "vmm"), nil
	}
	if euid == 0 {
		return rootCache, nil
	}
	return "", errors.New("no cache directory: set $XDG_CACHE_HOME or $HOME (vmm never falls back to a directory other users can write)")
}

// Check refuses dir as a cache for user uid if another user could put
// files in it or replace it: dir and each directory above it, both as
// written and with symlinks resolved, must belong to root or uid and
// not be writable by group or others; a directory above dir may be
// writable by all if root owns it and it is sticky.
func Check(dir string, uid int) error {
	return CheckOwned(dir, uid, "cache directory", "$XDG_CACHE_HOME")
}

// CheckOwned is Check for another directory vmm trusts (what names it in
// errors, which say that the variable choose sets another).
func CheckOwned(dir string, uid int, what, choose string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	for _, p := range []string{abs, real} {
		if err := checkChain(p, uid); err != nil {
			return fmt.Errorf("%s %s: %w; choose another with %s", what, p, err, choose)
		}
	}
	return nil
}

// checkChain checks p and every directory above it.
func checkChain(p string, uid int) error {
	for cur, first := p, true; ; cur, first = filepath.Dir(cur), false {
		if err := checkOne(cur, uid, first); err != nil {
			return err
		}
		if cur == filepath.Dir(cur) {
			return nil
		}
	}
}

// checkOne checks one path: the cache itself when self.
func checkOne(p string, uid int, self bool) error {
	st, err := os.Lstat(p)
	if err != nil {
		return err
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("%s: no owner to check", p)
	}
	owner := int(sys.Uid)
	if owner != 0 && owner != uid {
		return fmt.Errorf("%s belongs to user %d", p, owner)
	}
	if st.Mode()&os.ModeSymlink != 0 {
		return nil // its target is checked on the resolved path
	}
	if st.Mode().Perm()&0o022 == 0 {
		return nil
	}
	if !self && owner == 0 && st.Mode()&os.ModeSticky != 0 {
		return nil // /tmp: others cannot remove or rename what is in it
	}
	return fmt.Errorf("%s is writable by others (mode %v)", p, st.Mode().Perm())
}
