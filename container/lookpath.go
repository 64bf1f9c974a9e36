package container

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// The ways an image's command cannot start; vmm container run exits
// 127 and 126 for them, as docker run does.
var (
	ErrCommandNotFound      = errors.New("command not found")
	ErrCommandNotExecutable = errors.New("command not executable")
)

// CheckCommand finds argv0 as the runtime will, in the root file system
// root: a name with a slash as it is (relative to cwd), else in each
// directory of the PATH in env; symlinks resolve inside root. It returns
// nil when it is an executable file, else ErrCommandNotFound or
// ErrCommandNotExecutable.
func CheckCommand(root, argv0, cwd string, env []string) error {
	fd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	var candidates []string
	switch {
	case path.IsAbs(argv0):
		candidates = []string{argv0}
	case strings.Contains(argv0, "/"):
		candidates = []string{path.Join(cwd, argv0)}
	default:
		for _, dir := range strings.Split(pathOf(env), ":") {
			if dir != "" {
				candidates = append(candidates, path.Join(dir, argv0))
			}
		}
	}
	found := false
	for _, c := range candidates {
		switch executable(fd, c) {
		case nil:
			return nil
		case ErrCommandNotExecutable:
			found = true
		}
	}
	if found {
		return fmt.Errorf("%s: %w", argv0, ErrCommandNotExecutable)
	}
	return fmt.Errorf("%s: %w", argv0, ErrCommandNotFound)
}

// executable looks at p below root, resolved as if root were "/".
func executable(root int, p string) error {
	fd, err := unix.Openat2(root, strings.TrimPrefix(p, "/"), &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT})
	if err != nil {
		return ErrCommandNotFound
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return ErrCommandNotFound
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Mode&0o111 == 0 {
		return ErrCommandNotExecutable
	}
	return nil
}

// pathOf is PATH in env ("" when it has none).
func pathOf(env []string) string {
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			return v
		}
	}
	return ""
}
