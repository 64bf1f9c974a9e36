// Package store owns vmm's image store: OCI images imported from a
// docker save tarball, an OCI image layout or a plain root file system
// tarball, kept as one directory per layer in overlayfs form (package
// layer), unpacked once per layer digest, so that images sharing a base
// layer share it on disk as Docker's overlay2 does; a record per image
// (its config and layers) and the names that point at them. Every change
// is made under the store's lock, in a temporary directory first, then
// renamed into place: an import that fails, or is killed, leaves the
// store as it was (what a killed one left is removed the next time the
// store is locked).
package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/vmmlab/vmm/internal/cachedir"
)

// schema is the version of the store's files.
const schema = 1

// Store is an image store at a directory.
type Store struct{ root string }

// Record is what the store keeps of one image.
type Record struct {
	Schema int             `json:"schema"`
	Digest string          `json:"digest"` // sha256:HEX of the config: the image's ID
	Config json.RawMessage `json:"config"`
	Layers []Layer         `json:"layers"`
	// Unnamed is set for an image imported to be run once by its file
	// (kept, by digest, with no name).
	Unnamed bool `json:"unnamed,omitempty"`
}

// Layer is one of an image's layers.
type Layer struct {
	DiffID string `json:"diff_id"` // sha256:HEX of its uncompressed tar
	Size   int64  `json:"size"`    // bytes of its uncompressed tar
}

// Size is the bytes of the image's layers.
func (r Record) Size() int64 {
	var n int64
	for _, l := range r.Layers {
		n += l.Size
	}
	return n
}

// ID is the digest's first 12 hex digits, as docker images shows it.
func (r Record) ID() string {
	h := strings.TrimPrefix(r.Digest, "sha256:")
	return h[:min(12, len(h))]
}

// names is the names file.
type names struct {
	Schema int               `json:"schema"`
	Names  map[string]string `json:"names"` // name to digest
}

// Open opens (making it, mode 0700) the store at root, which must
// belong to root or this user and be writable by nobody else.
func Open(root string) (*Store, error) {
	for _, d := range []string{root, filepath.Join(root, "layers"), filepath.Join(root, "images"), filepath.Join(root, "tmp")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("image store: %w", err)
		}
	}
	if err := cachedir.CheckOwned(root, os.Geteuid(), "image store", "$VMM_STORE"); err != nil {
		return nil, err
	}
	return &Store{root: root}, nil
}

// Root is the store's directory.
func (s *Store) Root() string { return s.root }

// LayerDir is where layer diffID is unpacked.
func (s *Store) LayerDir(diffID string) string {
	return filepath.Join(s.root, "layers", strings.TrimPrefix(diffID, "sha256:"))
}

func (s *Store) namesPath() string { return filepath.Join(s.root, "names.json") }

func (s *Store) recordPath(digest string) string {
	return filepath.Join(s.root, "images", strings.TrimPrefix(digest, "sha256:")+".json")
}

// lock takes the store's lock (shared for reading); unlock gives it back.
func (s *Store) lock(exclusive bool) (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(s.root, "lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("image store: %w", err)
	}
	how := unix.LOCK_SH
	if exclusive {
		how = unix.LOCK_EX
	}
	if err := unix.Flock(int(f.Fd()), how); err != nil {
		f.Close()
		return nil, fmt.Errorf("image store: lock: %w", err)
	}
	return func() { f.Close() }, nil
}

// readNames reads the names file (none yet: no names).
func (s *Store) readNames() (names, error) {
	n := names{Schema: schema, Names: map[string]string{}}
	b, err := os.ReadFile(s.namesPath())
	if errors.Is(err, os.ErrNotExist) {
		return n, nil
	}
	if err == nil {
		err = json.Unmarshal(b, &n)
	}
	if err == nil && n.Schema != schema {
		err = fmt.Errorf("schema %d; this vmm reads %d", n.Schema, schema)
	}
	if err != nil {
		return n, fmt.Errorf("image store: names.json: %w", err)
	}
	if n.Names == nil {
		n.Names = map[string]string{}
	}
	return n, nil
}

// readRecord reads the record of the image digest.
func (s *Store) readRecord(digest string) (Record, error) {
	var r Record
	b, err := os.ReadFile(s.recordPath(digest))
	if err == nil {
		err = json.Unmarshal(b, &r)
	}
	if err == nil && (r.Schema != schema || r.Digest != digest) {
		err = fmt.Errorf("schema %d, digest %s: not this vmm's record of %s", r.Schema, r.Digest, digest)
	}
	if err != nil {
		return r, fmt.Errorf("image store: image %s: %w", digest, err)
	}
	return r, nil
}

// writeJSON writes v to path through a temporary file and a rename.
func (s *Store) writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Join(s.root, "tmp"), "json-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// records reads every image record, by digest.
func (s *Store) records() (map[string]Record, error) {
	ents, err := os.ReadDir(filepath.Join(s.root, "images"))
	if err != nil {
		return nil, err
	}
	out := map[string]Record{}
	for _, e := range ents {
		hex, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok {
			continue
		}
		r, err := s.readRecord("sha256:" + hex)
		if err != nil {
			return nil, err
		}
		out[r.Digest] = r
	}
	return out, nil
}

// tidy removes what an import that did not finish left: temporary
// files, records of named images no name points at, and layers no
// record uses. It runs under the exclusive lock.
func (s *Store) tidy() error {
	tmp := filepath.Join(s.root, "tmp")
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return err
	}
	n, err := s.readNames()
	if err != nil {
		return err
	}
	recs, err := s.records()
	if err != nil {
		return err
	}
	used := map[string]bool{}
	for d, r := range recs {
		if !r.Unnamed && !slices.Contains(mapValues(n.Names), d) {
			if err := os.Remove(s.recordPath(d)); err != nil {
				return err
			}
			continue
		}
		for _, l := range r.Layers {
			used[strings.TrimPrefix(l.DiffID, "sha256:")] = true
		}
	}
	for d := range recs {
		if _, err := os.Stat(s.recordPath(d)); err != nil {
			delete(recs, d) // removed above
		}
	}
	if err := s.removeStaleExt4(recs); err != nil {
		return err
	}
	ents, err := os.ReadDir(filepath.Join(s.root, "layers"))
	if err != nil {
		return err
	}
	for _, e := range ents {
		if !used[e.Name()] {
			if err := os.RemoveAll(filepath.Join(s.root, "layers", e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

func mapValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
