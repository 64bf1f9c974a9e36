package bench

import (
	"context"
	"fmt"

	"github.com/vmmlab/vmm/bench/workload"
)

// checkOCI says why docker cannot run the bench's OCI image: docker
// loads the image file itself, so a name in vmm's store will not do.
func (t *dockerTarget) checkOCI() error {
	img := t.a.OCI
	switch {
	case img == nil:
		return nil
	case img.Tarball == "":
		return fmt.Errorf("docker: --oci-image %s is a name in vmm's store; give the image file (a docker save tarball), which docker loads", img.Name)
	case img.Ready.network():
		return fmt.Errorf("--ready %s: docker has no network in the bench yet", img.Ready)
	}
	return nil
}

// loadImage loads the bench's OCI image file into the private daemon.
func (t *dockerTarget) loadImage(ctx context.Context) error {
	if out, err := t.docker(ctx, "load", "-q", "-i", t.a.OCI.Tarball).CombinedOutput(); err != nil {
		return fmt.Errorf("docker load %s: %w: %s", t.a.OCI.Tarball, err, out)
	}
	return nil
}

// imageRef is what docker runs: the bench's own image, or the OCI
// image by its ID (the config digest, as docker names it too).
func (t *dockerTarget) imageRef() string {
	if t.a.OCI != nil {
		return t.a.OCI.ID
	}
	return dockerImage
}

// process is docker run's image and arguments: the image's Entrypoint
// and Cmd (docker maps them as vmm does), Cmd replaced by --oci-cmd.
func (t *dockerTarget) process(s Spec) []string {
	if img := t.a.OCI; img != nil {
		return append([]string{img.ID}, img.Args...)
	}
	return append([]string{dockerImage, "/bin/" + s.Workload}, s.Args...)
}

// marker is the text of the ready line.
func (t *dockerTarget) marker() string {
	if t.a.OCI != nil {
		return t.a.OCI.Ready.Log
	}
	return workload.Marker
}
