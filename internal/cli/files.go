package cli

import (
	"errors"
	"os"
	"path/filepath"
)

// DefaultInitramfsName is the default image vmm boot (and vmm container
// run) looks for, beside the vmm binary (where `make` puts it) and then in
// the cache directory.
const DefaultInitramfsName = "initramfs.cpio.gz"

// CacheDir is vmm's cache: kernels, the u-root build, container roots.
func CacheDir() string {
	d, err := os.UserCacheDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "vmm-cache")
	}
	return filepath.Join(d, "vmm")
}

// BesideExecutable is the path of name in the running program's directory
// (where `make` puts vmm's programs and images side by side).
func BesideExecutable(name string) string {
	exe, err := os.Executable()
	if err != nil {
		return name
	}
	return filepath.Join(filepath.Dir(exe), name)
}

// DefaultInitramfs finds the image vmm boot uses without --initrd.
func DefaultInitramfs() (string, error) {
	candidates := []string{BesideExecutable(DefaultInitramfsName), filepath.Join(CacheDir(), DefaultInitramfsName)}
	for _, c := range candidates {
		if _, err := os.Stat(c); err == nil {
			return c, nil
		}
	}
	return "", errors.New("no --initrd given and no default initramfs found (looked for " + candidates[0] + " and " +
		candidates[1] + "); run `make` to build one, pass --initrd FILE, or --initrd none to boot without one")
}
