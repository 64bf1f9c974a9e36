package cli

import (
	"errors"
	"os"
	"path/filepath"

	"github.com/vmmlab/vmm/internal/cachedir"
)

// DefaultInitramfsName is the default image vmm boot (and vmm container
// run) looks for, beside the vmm binary (where `make` puts it) and then in
// the cache directory.
const DefaultInitramfsName = "initramfs.cpio.gz"

// CacheDir is vmm's cache: kernels, the u-root build, container roots
// (package cachedir says where, and refuses one others could plant).
func CacheDir() (string, error) { return cachedir.Dir() }

// BesideExecutable is the path of name in the running program's directory
// (where `make` puts vmm's programs and images side by side).
func BesideExecutable(name string) string {
	exe, err := os.Executable()
	if err != nil {
		return name
	}
	return filepath.Join(filepath.Dir(exe), name)
}

// DefaultInitramfs finds the image vmm boot uses without --initrd: beside
// the executable, else in a cache directory that passes its checks.
func DefaultInitramfs() (string, error) {
	beside := BesideExecutable(DefaultInitramfsName)
	if _, err := os.Stat(beside); err == nil {
		return beside, nil
	}
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	candidates := []string{beside, filepath.Join(cache, DefaultInitramfsName)}
	for _, c := range candidates[1:] {
		if _, err := os.Stat(c); err == nil {
			return c, nil
		}
	}
	return "", errors.New("no --initrd given and no default initramfs found (looked for " + candidates[0] + " and " +
		candidates[1] + "); run `make` to build one, pass --initrd FILE, or --initrd none to boot without one")
}
