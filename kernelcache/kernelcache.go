// Package kernelcache keeps the kernels unpacked from bzImages on the
// host (package boot/unpack), so that a boot can skip the guest's
// decompressor. An unpacked kernel is found again by the identity of its
// bzImage file (device, inode, size, modification and change times),
// without reading the bzImage. It holds no decompressor: vmm, which maps
// this package into every VM process, only looks kernels up; vmm-tools
// unpacks them.
package kernelcache

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// Dir is a directory of unpacked kernels.
type Dir string

// Entry is what the cache holds for one bzImage file.
type Entry struct {
	Key string // the bzImage file's identity
	// Vmlinux is the unpacked kernel's path, "" when it is not there.
	Vmlinux string
	// Refused says why the kernel cannot boot unpacked (a compression
	// vmm does not read, no PVH entry point), "" when it was not refused;
	// kept so that later boots do not try again. The bzImage boots as
	// it is.
	Refused string
}

// Find looks up the unpacked kernel of the bzImage at path.
func (d Dir) Find(path string) (Entry, error) {
	key, err := keyOf(path)
	if err != nil {
		return Entry{}, err
	}
	e := Entry{Key: key}
	if _, err := os.Stat(d.vmlinux(key)); err == nil {
		e.Vmlinux = d.vmlinux(key)
	} else if why, err := os.ReadFile(d.refused(key)); err == nil {
		e.Refused = string(why)
	}
	return e, nil
}

// Store keeps vmlinux as the unpacked kernel of the bzImage whose key
// Find gave (taken before the bzImage was read) and returns its path.
func (d Dir) Store(key string, vmlinux []byte) (string, error) {
	return d.vmlinux(key), d.write(d.vmlinux(key), vmlinux)
}

// Refuse keeps why the bzImage with this key cannot boot unpacked.
func (d Dir) Refuse(key, why string) error { return d.write(d.refused(key), []byte(why)) }

func (d Dir) vmlinux(key string) string { return filepath.Join(string(d), key+".vmlinux") }
func (d Dir) refused(key string) string { return filepath.Join(string(d), key+".refused") }

// keyOf names a bzImage by its file's identity: a new kernel written over
// it, or renamed onto it, changes its inode, size or times, and with them
// the key (so does a chmod: the change time moves, and the kernel is
// unpacked again).
func keyOf(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("kernel: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || !fi.Mode().IsRegular() {
		return "", fmt.Errorf("kernel: %s is not a regular file", path)
	}
	return fmt.Sprintf("%x-%x-%x-%x.%x-%x.%x", st.Dev, st.Ino, st.Size, st.Mtim.Sec, st.Mtim.Nsec, st.Ctim.Sec, st.Ctim.Nsec), nil
}

// write puts data at path through a temporary file in the same directory
// (created if missing), so that a boot never reads a half-written file.
func (d Dir) write(path string, data []byte) error {
	if err := os.MkdirAll(string(d), 0o755); err != nil {
		return fmt.Errorf("kernel cache: %w", err)
	}
	f, err := os.CreateTemp(string(d), ".unpacking-*")
	if err != nil {
		return fmt.Errorf("kernel cache: %w", err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(0o644) // CreateTemp's 0600 would keep the kernel from other users' VMs
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("kernel cache: %w", err)
	}
	return nil
}
