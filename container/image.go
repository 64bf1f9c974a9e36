package container

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/vmmlab/vmm/initramfs"
)

// RootfsFromImage unpacks a vmm initramfs image into cacheDir/image-rootfs/HASH
// (once per image) and returns it: a container's root then holds the
// same bytes, userland and workloads, as a VM's initramfs.
func RootfsFromImage(image, cacheDir string) (string, error) {
	sum, err := FileSHA256(image)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cacheDir, "image-rootfs", sum[:16])
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err == nil {
		return dir, nil
	}
	a, err := initramfs.ReadFile(image)
	if err != nil {
		return "", fmt.Errorf("image %s: %w", image, err)
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	if err := a.ExtractTo(tmp); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(tmp, ".complete"), nil, 0o644); err != nil {
		return "", err
	}
	os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		return "", err
	}
	return dir, nil
}

// FileSHA256 is the hex sha256 of a file's contents.
func FileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
