// Package debian owns building the bench's application images from
// Debian packages, without a registry: a Debian 12 base layer made by
// mmdebstrap through the host's apt sources, application layers that
// are the upper directory of an apt-get install over that base, and a
// busybox image from busybox-static. Each image is saved as a docker
// save tarball (go-containerregistry), built once and kept by the
// versions of the packages it holds.
package debian

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Image is one image the builder makes.
type Image struct {
	Name     string   // vmm.local/redis:latest
	File     string   // its docker save tarball's name
	Packages []string // what apt-get installs over the base (none: the base itself)
	Cmd      []string
	// Setup runs in the image's root after the install (a site's
	// config), with the root's path.
	Setup      func(root string) error
	WorkingDir string
	Ready      string // the ready condition (process.ReadyLabel), if any
}

// Images are the images Build makes, the base first.
func Images() []Image {
	return []Image{
		{Name: "vmm.local/debian:12", File: "debian.tar", Cmd: []string{"bash"}},
		{Name: "vmm.local/redis:latest", File: "redis.tar", Packages: []string{"redis-server"},
			Cmd: []string{"redis-server", "--bind", "0.0.0.0", "--protected-mode", "no"}, WorkingDir: "/var/lib/redis",
			Ready: "log:Ready to accept connections"},
		{Name: "vmm.local/nginx:latest", File: "nginx.tar", Packages: []string{"nginx"},
			Cmd: []string{"nginx", "-g", "daemon off;"}, Setup: ipv4Site, Ready: "http:80/"},
	}
}

// BusyboxName is the busybox image's name.
const BusyboxName = "vmm.local/busybox:latest"

// Set is where the built images are.
type Set struct {
	Dir   string            // the cache directory that holds them
	Files map[string]string // image name -> docker save tarball
}

// Build makes the images in cacheDir/images/KEY, or finds them there,
// where KEY hashes the versions of the packages they hold. It needs root
// (mmdebstrap --mode=root, mounts, chroot) and mmdebstrap.
func Build(ctx context.Context, cacheDir string, log io.Writer) (Set, error) {
	key, err := cacheKey(ctx)
	if err != nil {
		return Set{}, err
	}
	dir := filepath.Join(cacheDir, "images", key)
	set := Set{Dir: dir, Files: map[string]string{}}
	for _, im := range Images() {
		set.Files[im.Name] = filepath.Join(dir, im.File)
	}
	set.Files[BusyboxName] = filepath.Join(dir, "busybox.tar")
	if _, err := os.Stat(filepath.Join(dir, "complete")); err == nil {
		return set, nil
	}
	fmt.Fprintf(log, "images: building the Debian 12 base, redis, nginx and busybox images once (a few minutes; cached in %s)\n", dir)
	tmp := dir + ".tmp"
	os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return Set{}, err
	}
	defer os.RemoveAll(tmp)
	if err := build(ctx, tmp, log); err != nil {
		return Set{}, fmt.Errorf("images: %w", err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "complete"), []byte(key+"\n"), 0o644); err != nil {
		return Set{}, err
	}
	os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		return Set{}, err
	}
	return set, nil
}

// build makes every image's tarball in out.
func build(ctx context.Context, out string, log io.Writer) error {
	work := filepath.Join(out, "work")
	if err := os.MkdirAll(work, 0o755); err != nil {
		return err
	}
	defer os.RemoveAll(work)
	base := filepath.Join(work, "base")
	fmt.Fprintln(log, "images: mmdebstrap --variant=minbase bookworm")
	if err := debootstrap(ctx, base, log); err != nil {
		return err
	}
	baseTar := filepath.Join(work, "base.layer.tar")
	if err := writeLayer(base, baseTar); err != nil {
		return fmt.Errorf("base layer: %w", err)
	}
	for _, im := range Images() {
		layers := []string{baseTar}
		if len(im.Packages) > 0 {
			fmt.Fprintf(log, "images: %s: apt-get install %v\n", im.Name, im.Packages)
			upper, err := installLayer(ctx, base, filepath.Join(work, im.File), im, log)
			if err != nil {
				return fmt.Errorf("%s: %w", im.Name, err)
			}
			layers = append(layers, upper)
		}
		if err := save(filepath.Join(out, im.File), im, layers); err != nil {
			return fmt.Errorf("%s: %w", im.Name, err)
		}
	}
	fmt.Fprintln(log, "images: busybox from busybox-static")
	return busybox(filepath.Join(out, "busybox.tar"), work)
}
