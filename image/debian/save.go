package debian

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/vmmlab/vmm/image/process"
)

// defaultPath is the images' PATH.
const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// save writes im, made of the layer tarballs (the bottom one first), as
// a docker save tarball at out, tagged with im.Name.
func save(out string, im Image, layerFiles []string) error {
	img := empty.Image
	for _, lf := range layerFiles {
		l, err := tarball.LayerFromFile(lf)
		if err != nil {
			return err
		}
		if img, err = mutate.AppendLayers(img, l); err != nil {
			return err
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Config = v1.Config{Cmd: im.Cmd, Env: []string{defaultPath}, WorkingDir: im.WorkingDir}
	if im.Ready != "" {
		cf.Config.Labels = map[string]string{process.ReadyLabel: im.Ready}
	}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return err
	}
	tag, err := name.NewTag(im.Name)
	if err != nil {
		return err
	}
	return tarball.WriteToFile(out, tag, img)
}

// busybox writes the busybox image: the host's static busybox (package
// busybox-static) with a link per applet, a passwd and group with root
// and nobody, and Cmd sh.
func busybox(out, work string) error {
	bin, err := exec.LookPath("busybox")
	if err != nil {
		return fmt.Errorf("busybox (package busybox-static): %w", err)
	}
	list, err := exec.Command(bin, "--list").Output()
	if err != nil {
		return fmt.Errorf("busybox --list: %w", err)
	}
	root := filepath.Join(work, "busybox")
	for _, d := range []string{"bin", "etc", "root", "tmp", "var", "home", "dev", "proc", "sys"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return err
		}
	}
	os.Chmod(filepath.Join(root, "tmp"), 0o1777)
	b, err := os.ReadFile(bin)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(root, "bin/busybox"), b, 0o755); err != nil {
		return err
	}
	for _, applet := range strings.Fields(string(list)) {
		if applet != "busybox" && !strings.Contains(applet, "/") {
			if err := os.Symlink("busybox", filepath.Join(root, "bin", applet)); err != nil {
				return err
			}
		}
	}
	files := map[string]string{"etc/passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n",
		"etc/group": "root:x:0:\nnogroup:x:65534:\n"}
	for p, text := range files {
		if err := os.WriteFile(filepath.Join(root, p), []byte(text), 0o644); err != nil {
			return err
		}
	}
	layer := filepath.Join(work, "busybox.layer.tar")
	if err := writeLayer(root, layer); err != nil {
		return err
	}
	return save(out, Image{Name: BusyboxName, Cmd: []string{"sh"}}, []string{layer})
}
