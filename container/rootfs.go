package container

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/vmmlab/vmm/initramfs"
)

// Rootfs builds (once) the shared read-only root file system holding the
// given statically linked programs in /bin, named by their base names,
// plus the empty directories and /etc files a container needs. It lives
// in cacheDir/rootfs/<hash of the programs> and is reused while the
// programs stay the same; the path is returned.
func Rootfs(cacheDir string, programs []string) (string, error) {
	if len(programs) == 0 {
		return "", errors.New("rootfs: no programs")
	}
	progs := append([]string(nil), programs...)
	sort.Strings(progs)
	h := sha256.New()
	seen := map[string]string{}
	for _, p := range progs {
		name := filepath.Base(p)
		if other, dup := seen[name]; dup && other != p {
			return "", fmt.Errorf("rootfs: %s and %s would both be /bin/%s", other, p, name)
		}
		seen[name] = p
		if err := initramfs.CheckStatic(p); err != nil {
			return "", fmt.Errorf("rootfs: %s: %w (containers and VMs share statically linked programs)", p, err)
		}
		f, err := os.Open(p)
		if err != nil {
			return "", fmt.Errorf("rootfs: %w", err)
		}
		fmt.Fprintf(h, "%s\x00", name)
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return "", fmt.Errorf("rootfs: %s: %w", p, err)
		}
	}
	dir := filepath.Join(cacheDir, "rootfs", hex.EncodeToString(h.Sum(nil))[:16])
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err == nil {
		return dir, nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", fmt.Errorf("rootfs: %w", err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".build-")
	if err != nil {
		return "", fmt.Errorf("rootfs: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := populate(tmp, seen); err != nil {
		return "", fmt.Errorf("rootfs: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, statErr := os.Stat(filepath.Join(dir, ".complete")); statErr == nil {
			return dir, nil // another build finished first
		}
		return "", fmt.Errorf("rootfs: %w", err)
	}
	return dir, nil
}

func populate(root string, programs map[string]string) error {
	if err := os.Chmod(root, 0o755); err != nil {
		return err
	}
	for _, d := range []string{"bin", "proc", "dev", "sys", "tmp", "etc", "run"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
			return err
		}
	}
	files := map[string]string{
		"etc/passwd":   "root:x:0:0:root:/:/bin/sh\n",
		"etc/group":    "root:x:0:\n",
		"etc/hosts":    "127.0.0.1 localhost\n",
		"etc/hostname": "container\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(root, name), []byte(body), 0o644); err != nil {
			return err
		}
	}
	for name, src := range programs {
		if err := copyFile(filepath.Join(root, "bin", name), src); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(root, ".complete"), nil, 0o644)
}

func copyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
