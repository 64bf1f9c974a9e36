package confine

import (
	"fmt"
	"os"
	"syscall"
)

// Identity is who vmm becomes once everything is open: a user and group
// (-1: keep), and optionally a root directory to chroot into.
type Identity struct {
	UID, GID int
	Chroot   string
}

// Check refuses half a drop: a user without a group (it would keep group
// 0 and root's supplementary groups), a group without a user (still
// root), or a chroot without both (root can leave a chroot).
func (id Identity) Check() error {
	switch {
	case id.UID >= 0 && id.GID < 0:
		return fmt.Errorf("--uid needs --gid: a user alone keeps root's group")
	case id.GID >= 0 && id.UID < 0:
		return fmt.Errorf("--gid needs --uid: a group alone leaves vmm running as root")
	case id.Chroot != "" && id.UID < 0:
		return fmt.Errorf("--chroot needs --uid and --gid: root can leave a chroot")
	}
	return nil
}

// Drop changes to id on every thread of the process: chroot (to an empty
// directory the new user cannot write), no supplementary groups, then the
// group and the user. Leaving uid 0 clears every capability (no
// SECBIT_KEEP_CAPS is set). Call it after all files, KVM and taps are
// open and before the guest runs; install the seccomp filter after it.
func Drop(id Identity) error {
	if err := id.Check(); err != nil {
		return err
	}
	if id.Chroot != "" {
		if err := checkEmptyRoot(id.Chroot, id.UID); err != nil {
			return err
		}
		if err := syscall.Chroot(id.Chroot); err != nil {
			return fmt.Errorf("chroot %s: %w", id.Chroot, err)
		}
		if err := syscall.Chdir("/"); err != nil {
			return fmt.Errorf("chroot %s: %w", id.Chroot, err)
		}
	}
	if id.GID >= 0 {
		// The syscall package applies these to all threads (Go 1.16+);
		// Check made sure the user changes too.
		if err := syscall.Setgroups(nil); err != nil {
			return fmt.Errorf("drop supplementary groups: %w", err)
		}
		if err := syscall.Setresgid(id.GID, id.GID, id.GID); err != nil {
			return fmt.Errorf("switch to group %d: %w", id.GID, err)
		}
	}
	if id.UID >= 0 {
		if err := syscall.Setresuid(id.UID, id.UID, id.UID); err != nil {
			return fmt.Errorf("switch to user %d: %w", id.UID, err)
		}
	}
	return nil
}

// checkEmptyRoot refuses a chroot directory with anything in it, or one
// the new user could write (it could plant files there).
func checkEmptyRoot(dir string, uid int) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("--chroot: %w", err)
	}
	if len(ents) > 0 {
		return fmt.Errorf("--chroot %s: not empty (%s, ...): vmm needs nothing there", dir, ents[0].Name())
	}
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("--chroot: %w", err)
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if ok && (st.Mode().Perm()&0o022 != 0 || uid >= 0 && int(sys.Uid) == uid) {
		return fmt.Errorf("--chroot %s: writable by the user vmm switches to (mode %v, owner %d)", dir, st.Mode().Perm(), sys.Uid)
	}
	return nil
}
