package store

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The platform vmm runs.
const (
	platformOS   = "linux"
	platformArch = "amd64"
)

// refName is the annotation an OCI layout names an image by.
const refName = "org.opencontainers.image.ref.name"

// source is an image read from a file or directory, with the names it
// gives itself.
type source struct {
	img   v1.Image
	names []string
}

// openSource reads path: an OCI image layout directory, a docker save
// tarball (gzip'd or not), or a plain root file system tarball (one
// layer). want, if set, picks an image of a tarball that holds several.
func openSource(path, want string) (source, error) {
	st, err := os.Stat(path)
	if err != nil {
		return source{}, err
	}
	if st.IsDir() {
		return openLayout(path)
	}
	opener := fileOpener(path)
	if err := checkTar(opener); err != nil {
		return source{}, fmt.Errorf("%s: not an image: neither an OCI layout directory, a docker save tarball nor a root file system tarball (%w)", path, err)
	}
	m, err := tarball.LoadManifest(opener)
	if err != nil || len(m) == 0 {
		return rootfsImage(opener)
	}
	return openDockerSave(opener, m, want)
}

// fileOpener opens path, through gzip when it is gzip'd.
func fileOpener(path string) tarball.Opener {
	return func() (io.ReadCloser, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		br := bufio.NewReader(f)
		if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
			zr, err := gzip.NewReader(br)
			if err != nil {
				f.Close()
				return nil, err
			}
			return readCloser{zr, f}, nil
		}
		return readCloser{br, f}, nil
	}
}

type readCloser struct {
	io.Reader
	io.Closer
}

// checkTar fails unless the opener's stream begins as a tar.
func checkTar(open tarball.Opener) error {
	rc, err := open()
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = tar.NewReader(rc).Next()
	return err
}

// openDockerSave picks the image of a docker save tarball.
func openDockerSave(open tarball.Opener, m tarball.Manifest, want string) (source, error) {
	d := m[0]
	if len(m) > 1 {
		found := false
		for _, c := range m {
			for _, t := range c.RepoTags {
				if full, err := Name(t); err == nil && want != "" && full == mustName(want) {
					d, found = c, true
				}
			}
		}
		if !found {
			return source{}, fmt.Errorf("the tarball holds %d images: name one of their tags with --name", len(m))
		}
	}
	var tag *name.Tag
	if len(m) > 1 {
		t, err := name.NewTag(d.RepoTags[0], name.WeakValidation)
		if err != nil {
			return source{}, err
		}
		tag = &t
	}
	img, err := tarball.Image(open, tag)
	if err != nil {
		return source{}, fmt.Errorf("the image's config %s: %w", d.Config, err)
	}
	return source{img: img, names: d.RepoTags}, nil
}

func mustName(s string) string {
	full, _ := Name(s)
	return full
}

// rootfsImage makes a one-layer linux/amd64 image of a root file system
// tarball; it names itself nothing.
func rootfsImage(open tarball.Opener) (source, error) {
	l, err := tarball.LayerFromOpener(open)
	if err != nil {
		return source{}, err
	}
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		return source{}, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return source{}, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = platformOS, platformArch
	img, err = mutate.ConfigFile(img, cf)
	return source{img: img}, err
}

// openLayout picks the linux/amd64 image of an OCI image layout.
func openLayout(dir string) (source, error) {
	if _, err := os.Stat(filepath.Join(dir, "oci-layout")); err != nil {
		return source{}, fmt.Errorf("%s: not an image: a directory without an oci-layout file", dir)
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return source{}, err
	}
	return pickFromIndex(idx, "")
}

// pickFromIndex finds the linux/amd64 image in an index (nested indexes
// too), with the name its descriptor is annotated with.
func pickFromIndex(idx v1.ImageIndex, ref string) (source, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return source{}, err
	}
	for _, d := range im.Manifests {
		r := ref
		if n := d.Annotations[refName]; n != "" {
			r = n
		}
		switch {
		case d.MediaType.IsIndex():
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return source{}, err
			}
			if s, err := pickFromIndex(child, r); err == nil {
				return s, nil
			}
		case d.MediaType.IsImage() || d.MediaType == types.MediaType(""):
			if d.Platform != nil && (d.Platform.OS != platformOS || d.Platform.Architecture != platformArch) {
				continue
			}
			img, err := idx.Image(d.Digest)
			if err != nil {
				return source{}, err
			}
			s := source{img: img}
			if r != "" {
				s.names = []string{r}
			}
			return s, nil
		}
	}
	return source{}, errors.New("the layout holds no linux/amd64 image")
}
