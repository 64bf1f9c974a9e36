package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/vmmlab/vmm/image/layer"
)

// ErrNameTaken is returned when a name points at another image.
var ErrNameTaken = errors.New("the name belongs to another image (--replace moves it)")

// ImportOptions say how an image is imported.
type ImportOptions struct {
	Name     string    // the image's name (default: the names the source gives it)
	Replace  bool      // move a name that points at another image
	Unnamed  bool      // keep the image by digest alone (vmm run FILE)
	Progress io.Writer // a line per layer unpacked (nil: none)
}

// Imported says what an import did.
type Imported struct {
	Names  []string
	Record Record
	// Already is set when the store held the image under these names:
	// nothing was done.
	Already bool
	Shared  int // layers the store held already
}

// Import reads the image at path into the store. It needs root: layers
// keep their owners, device nodes and overlayfs xattrs.
func (s *Store) Import(ctx context.Context, path string, o ImportOptions) (Imported, error) {
	if os.Geteuid() != 0 {
		return Imported{}, errors.New("importing an image needs root: its layers keep their owners, device nodes and xattrs")
	}
	src, err := openSource(path, o.Name)
	if err != nil {
		return Imported{}, err
	}
	wanted, err := chooseNames(src.names, o)
	if err != nil {
		return Imported{}, err
	}
	rec, img, err := describe(src.img)
	if err != nil {
		return Imported{}, fmt.Errorf("%s: %w", path, err)
	}
	rec.Unnamed = o.Unnamed && len(wanted) == 0
	unlock, err := s.lock(true)
	if err != nil {
		return Imported{}, err
	}
	defer unlock()
	if err := s.tidy(); err != nil {
		return Imported{}, fmt.Errorf("image store: %w", err)
	}
	n, err := s.readNames()
	if err != nil {
		return Imported{}, err
	}
	if done, err := s.held(n, wanted, rec, o.Replace); done || err != nil {
		return Imported{Names: wanted, Record: rec, Already: done}, err
	}
	shared, err := s.unpackLayers(ctx, img, rec.Layers, o.Progress)
	if err != nil {
		s.tidy() // the layers no record uses go
		return Imported{}, err
	}
	if err := s.writeJSON(s.recordPath(rec.Digest), rec); err != nil {
		s.tidy()
		return Imported{}, fmt.Errorf("image store: %w", err)
	}
	for _, name := range wanted {
		n.Names[name] = rec.Digest
	}
	if err := s.writeJSON(s.namesPath(), n); err != nil {
		s.tidy()
		return Imported{}, fmt.Errorf("image store: %w", err)
	}
	if err := s.tidy(); err != nil { // an image a name moved away from
		return Imported{}, fmt.Errorf("image store: %w", err)
	}
	return Imported{Names: wanted, Record: rec, Shared: shared}, nil
}

// chooseNames is --name, else the names the source gives itself; an
// unnamed import takes none of them (a file run once must not move a
// name in the store).
func chooseNames(given []string, o ImportOptions) ([]string, error) {
	switch {
	case o.Name != "":
		given = []string{o.Name}
	case o.Unnamed:
		given = nil
	}
	var out []string
	for _, g := range given {
		full, err := Name(g)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, full) {
			out = append(out, full)
		}
	}
	if len(out) == 0 && !o.Unnamed {
		return nil, errors.New("the image names itself nothing: give it one with --name")
	}
	return out, nil
}

// describe reads the image's config: its digest, platform and layers.
func describe(img v1.Image) (Record, v1.Image, error) {
	raw, err := img.RawConfigFile()
	if err != nil {
		return Record{}, nil, fmt.Errorf("its config: %w", err)
	}
	cf, err := v1.ParseConfigFile(bytes.NewReader(raw))
	if err != nil {
		return Record{}, nil, fmt.Errorf("its config: %w", err)
	}
	if (cf.OS != "" && cf.OS != platformOS) || (cf.Architecture != "" && cf.Architecture != platformArch) {
		return Record{}, nil, fmt.Errorf("an image for %s/%s; vmm runs %s/%s", cf.OS, cf.Architecture, platformOS, platformArch)
	}
	sum := sha256.Sum256(raw)
	rec := Record{Schema: schema, Digest: "sha256:" + hex.EncodeToString(sum[:]), Config: raw}
	for _, d := range cf.RootFS.DiffIDs {
		if d.Algorithm != "sha256" || len(d.Hex) != 64 {
			return Record{}, nil, fmt.Errorf("layer digest %s: not a sha256 digest", d)
		}
		rec.Layers = append(rec.Layers, Layer{DiffID: d.String()})
	}
	return rec, img, nil
}

// held checks the wanted names against the store: true when each names
// this image already (nothing to do), an error when one names another
// image and replace is not set.
func (s *Store) held(n names, wanted []string, rec Record, replace bool) (bool, error) {
	all := len(wanted) > 0 || rec.Unnamed
	for _, name := range wanted {
		switch d, ok := n.Names[name]; {
		case ok && d != rec.Digest && !replace:
			return false, fmt.Errorf("%s: %w", name, ErrNameTaken)
		case !ok || d != rec.Digest:
			all = false
		}
	}
	if !all {
		return false, nil
	}
	_, err := s.readRecord(rec.Digest)
	return err == nil, nil
}

// unpackLayers unpacks each layer the store does not hold, checking its
// digest, and fills in the layers' sizes; it returns how many it held.
func (s *Store) unpackLayers(ctx context.Context, img v1.Image, layers []Layer, progress io.Writer) (int, error) {
	ls, err := img.Layers()
	if err != nil {
		return 0, err
	}
	if len(ls) != len(layers) {
		return 0, fmt.Errorf("the image has %d layers and its config names %d", len(ls), len(layers))
	}
	known, err := s.layerSizes()
	if err != nil {
		return 0, err
	}
	shared := 0
	for i, l := range ls {
		if size, ok := known[layers[i].DiffID]; ok {
			layers[i].Size = size
			shared++
			continue
		}
		if progress != nil {
			fmt.Fprintf(progress, "unpacking layer %d of %d (%s)\n", i+1, len(ls), layers[i].DiffID[:19])
		}
		size, err := s.unpackLayer(ctx, l, layers[i].DiffID)
		if err != nil {
			return 0, fmt.Errorf("layer %d (%s): %w", i+1, layers[i].DiffID, err)
		}
		layers[i].Size = size
		known[layers[i].DiffID] = size
	}
	return shared, nil
}

// layerSizes returns the size of every layer the store holds.
func (s *Store) layerSizes() (map[string]int64, error) {
	recs, err := s.records()
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, r := range recs {
		for _, l := range r.Layers {
			out[l.DiffID] = l.Size
		}
	}
	return out, nil
}

// unpackLayer unpacks l into a temporary directory, checks that its
// bytes have the digest diffID, and renames it into place.
func (s *Store) unpackLayer(ctx context.Context, l v1.Layer, diffID string) (int64, error) {
	rc, err := l.Uncompressed()
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	tmp, err := os.MkdirTemp(filepath.Join(s.root, "tmp"), "layer-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmp)
	dir := filepath.Join(tmp, "fs")
	if err := os.Mkdir(dir, 0o755); err != nil {
		return 0, err
	}
	h := sha256.New()
	counted := &countingReader{r: ctxReader{ctx, rc}}
	tee := io.TeeReader(counted, h)
	if _, err := layer.Unpack(tee, dir); err != nil {
		return 0, err
	}
	if _, err := io.Copy(io.Discard, tee); err != nil { // the tar's padding
		return 0, err
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != diffID {
		return 0, fmt.Errorf("its bytes have the digest %s: the layer is corrupt or not the one the config names", got)
	}
	if err := os.Rename(dir, s.LayerDir(diffID)); err != nil {
		return 0, err
	}
	return counted.n, nil
}

// countingReader counts what is read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// ctxReader stops reading once ctx ends (an interrupted import).
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
