package debian

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// builderVersion changes when what Build makes of the same packages
// changes; it is part of the cache key.
const builderVersion = "2"

// keyPackages are the packages whose versions name a build: the base's
// core and every image's own.
func keyPackages() []string {
	return []string{"base-files", "libc6", "apt", "dpkg", "bash", "redis-server", "nginx", "busybox-static"}
}

// cacheKey hashes the builder's version, mmdebstrap's, the host's apt
// sources and the versions apt would install of keyPackages: a new
// package version (after apt-get update) builds the images again.
func cacheKey(ctx context.Context) (string, error) {
	h := sha256.New()
	fmt.Fprintln(h, "builder", builderVersion)
	for _, c := range [][]string{{"mmdebstrap", "--version"}, append([]string{"apt-cache", "policy"}, keyPackages()...)} {
		out, err := exec.CommandContext(ctx, c[0], c[1:]...).Output()
		if err != nil {
			return "", fmt.Errorf("images: %s (make deps installs mmdebstrap): %w", strings.Join(c, " "), err)
		}
		for _, line := range strings.Split(string(out), "\n") {
			if t := strings.TrimSpace(line); strings.HasPrefix(t, "Candidate:") || strings.HasSuffix(t, ":") || strings.HasPrefix(line, "mmdebstrap") {
				fmt.Fprintln(h, t)
			}
		}
	}
	for _, f := range aptSources() {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		h.Write(b)
	}
	return fmt.Sprintf("%x", h.Sum(nil))[:16], nil
}

// aptSources are the host's apt source files, which the base is made
// from.
func aptSources() []string {
	var out []string
	if _, err := os.Stat("/etc/apt/sources.list"); err == nil {
		out = append(out, "/etc/apt/sources.list")
	}
	for _, pat := range []string{"/etc/apt/sources.list.d/*.list", "/etc/apt/sources.list.d/*.sources"} {
		m, _ := filepath.Glob(pat)
		out = append(out, m...)
	}
	return out
}

// debootstrap makes a minimal Debian 12 root in dir with mmdebstrap,
// from the host's apt sources.
func debootstrap(ctx context.Context, dir string, log io.Writer) error {
	sources := aptSources()
	if len(sources) == 0 {
		return fmt.Errorf("the host has no apt sources (/etc/apt/sources.list[.d])")
	}
	args := append([]string{"--variant=minbase", "--mode=root", "--quiet", "bookworm", dir}, sources...)
	cmd := exec.CommandContext(ctx, "mmdebstrap", args...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("mmdebstrap: %w", err)
	}
	return nil
}

// installLayer installs im's packages over base (read-only: an overlay
// mount with an upper directory of its own), runs im.Setup, and writes
// that upper directory, what the install changed, as a layer tarball.
func installLayer(ctx context.Context, base, prefix string, im Image, log io.Writer) (string, error) {
	upper, work, root := prefix+".upper", prefix+".work", prefix+".root"
	for _, d := range []string{upper, work, root} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", err
		}
	}
	unmount, err := mountChroot(base, upper, work, root)
	if err != nil {
		return "", err
	}
	err = aptInstall(ctx, root, im.Packages, log)
	if err == nil && im.Setup != nil {
		err = im.Setup(root)
	}
	if uerr := unmount(); err == nil {
		err = uerr
	}
	if err != nil {
		return "", err
	}
	out := prefix + ".layer.tar"
	return out, writeLayer(upper, out)
}

// mountChroot mounts the overlay at root and the kernel's file systems
// in it, and returns how to unmount them all.
func mountChroot(base, upper, work, root string) (func() error, error) {
	var mounted []string
	unmount := func() error {
		var first error
		for i := len(mounted) - 1; i >= 0; i-- {
			if err := unix.Unmount(mounted[i], 0); err != nil && first == nil {
				first = fmt.Errorf("unmount %s: %w", mounted[i], err)
			}
		}
		return first
	}
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", base, upper, work)
	steps := []struct {
		src, target, fstype string
		flags               uintptr
		data                string
	}{{"overlay", root, "overlay", 0, opts}, {"/dev", root + "/dev", "", unix.MS_BIND, ""},
		{"proc", root + "/proc", "proc", 0, ""}, {"sysfs", root + "/sys", "sysfs", 0, ""}}
	for _, s := range steps {
		if err := unix.Mount(s.src, s.target, s.fstype, s.flags, s.data); err != nil {
			unmount()
			return nil, fmt.Errorf("mount %s on %s: %w", s.src, s.target, err)
		}
		mounted = append(mounted, s.target)
	}
	return unmount, nil
}

// aptInstall installs packages in root with apt-get, without
// recommends, with no service started (policy-rc.d), and leaves no
// package lists or archives behind.
func aptInstall(ctx context.Context, root string, packages []string, log io.Writer) error {
	policy := filepath.Join(root, "usr/sbin/policy-rc.d")
	if err := os.WriteFile(policy, []byte("#!/bin/sh\nexit 101\n"), 0o755); err != nil {
		return err
	}
	defer os.Remove(policy)
	script := "apt-get update -qq && apt-get install -y -qq --no-install-recommends " + strings.Join(packages, " ") +
		" && apt-get clean && rm -rf /var/lib/apt/lists/*"
	cmd := exec.CommandContext(ctx, "chroot", root, "/bin/sh", "-c", script)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND=noninteractive", "LC_ALL=C"}
	cmd.Stdout, cmd.Stderr = io.Discard, log
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("apt-get install %s: %w", strings.Join(packages, " "), err)
	}
	return nil
}

// ipv4Site replaces nginx's default site by one that listens on IPv4
// only (the minimal guest kernel has no IPv6). The site file is a
// symlink in Debian: it is removed, never written through.
func ipv4Site(root string) error {
	site := filepath.Join(root, "etc/nginx/sites-enabled/default")
	if err := os.Remove(site); err != nil && !os.IsNotExist(err) {
		return err
	}
	f, err := os.OpenFile(site, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, 0o644)
	if err != nil {
		return err
	}
	_, err = f.WriteString("server {\n\tlisten 80 default_server;\n\troot /var/www/html;\n\tindex index.html index.nginx-debian.html;\n\tlocation / {\n\t\ttry_files $uri $uri/ =404;\n\t}\n}\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
