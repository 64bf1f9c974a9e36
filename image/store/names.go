package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Name checks an image name, repo[:tag], and returns it with its tag
// (":latest" when it has none).
func Name(s string) (string, error) {
	repo, tag := s, "latest"
	if i := strings.LastIndexByte(s, ':'); i > strings.LastIndexByte(s, '/') {
		repo, tag = s[:i], s[i+1:]
	}
	if !reRepo.MatchString(repo) || len(repo) > 255 {
		return "", fmt.Errorf("image name %q: want repo[:tag], the repo in lower case (letters, digits, '.', '_', '-', '/')", s)
	}
	if !reTag.MatchString(tag) {
		return "", fmt.Errorf("image name %q: a tag is 1-128 letters, digits, '_', '.' or '-', not starting with '.' or '-'", s)
	}
	return repo + ":" + tag, nil
}

var (
	reRepo = regexp.MustCompile(`^[a-z0-9]+(?:[._-][a-z0-9]+|__)*(?::[0-9]+)?(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$`)
	reTag  = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
)

// rootStore is root's store when it sets no other.
const rootStore = "/var/lib/vmm/images"

// DefaultRoot chooses the store's directory from the environment and
// the effective user: $VMM_STORE, else $XDG_DATA_HOME/vmm/images, else
// $HOME/.local/share/vmm/images, else for root /var/lib/vmm/images.
func DefaultRoot(getenv func(string) string, euid int) (string, error) {
	if s := getenv("VMM_STORE"); s != "" {
		return filepath.Abs(s)
	}
	if x := getenv("XDG_DATA_HOME"); filepath.IsAbs(x) {
		return filepath.Join(x, "vmm", "images"), nil
	}
	if h := getenv("HOME"); filepath.IsAbs(h) {
		return filepath.Join(h, ".local", "share", "vmm", "images"), nil
	}
	if euid == 0 {
		return rootStore, nil
	}
	return "", errors.New("no image store: set $VMM_STORE, $XDG_DATA_HOME or $HOME")
}

// DefaultDir is DefaultRoot for this process.
func DefaultDir() (string, error) { return DefaultRoot(os.Getenv, os.Geteuid()) }
