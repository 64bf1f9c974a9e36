// Package beneath makes files below a directory without ever following
// a symlink, for unpacking archives vmm is handed (initramfs images, OCI
// layers) as root: nothing is created by path. Each directory is reached
// from the root one name at a time with O_NOFOLLOW, and an entry is made
// in its directory by name, so no symlink, the archive's own or one
// already there, is followed: a path through one is an error.
package beneath

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// OpenRoot opens dir as the root entries are made beneath.
func OpenRoot(dir string) (int, error) {
	return unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
}

// Clean checks an archive's entry name and returns it clean and relative
// ("." for the root): an absolute name, or one with a ".." element,
// would land outside and is an error.
func Clean(name string) (string, error) {
	trimmed := strings.TrimPrefix(name, "./")
	if strings.HasPrefix(trimmed, "/") {
		return "", fmt.Errorf("%q: an absolute path", name)
	}
	for _, el := range strings.Split(trimmed, "/") {
		if el == ".." {
			return "", fmt.Errorf("%q: a path out of its root", name)
		}
	}
	return path.Clean(trimmed), nil
}

// OpenDir opens directory rel (clean, relative) below root, making what
// is missing (mode 0755), one name at a time and never through a symlink.
func OpenDir(root int, rel string) (int, error) {
	fd, err := unix.Dup(root)
	if err != nil || rel == "." {
		return fd, err
	}
	for _, name := range strings.Split(rel, "/") {
		if err := Mkdir(fd, name, 0o755); err != nil {
			unix.Close(fd)
			return -1, err
		}
		next, err := unix.Openat(fd, name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		unix.Close(fd)
		if err != nil {
			return -1, fmt.Errorf("%s: %w (a symlink or a file where a directory goes)", name, err)
		}
		fd = next
	}
	return fd, nil
}

// Mkdir makes directory name in dir; one that exists is kept if it is a
// directory (not a symlink to one).
func Mkdir(dir int, name string, perm uint32) error {
	err := unix.Mkdirat(dir, name, perm)
	if !errors.Is(err, unix.EEXIST) {
		return err
	}
	var st unix.Stat_t
	if err := unix.Fstatat(dir, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return fmt.Errorf("%s exists and is not a directory", name)
	}
	return nil
}

// CreateFile creates file name in dir for writing (truncating one that
// is there); a symlink there is an error, not followed.
func CreateFile(dir int, name string, perm uint32) (int, error) {
	return unix.Openat(dir, name, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_NOFOLLOW|unix.O_CLOEXEC, perm)
}
