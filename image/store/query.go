package store

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
)

// ErrUnknown is returned for a name the store does not hold.
var ErrUnknown = errors.New("no such image")

// Image is one name of the store's images.
type Image struct {
	Name   string `json:"name"`
	ID     string `json:"id"`
	Digest string `json:"digest"`
	Size   int64  `json:"size"`
	Layers int    `json:"layers"`
}

// List returns the named images, sorted by name.
func (s *Store) List() ([]Image, error) {
	unlock, err := s.lock(false)
	if err != nil {
		return nil, err
	}
	defer unlock()
	n, err := s.readNames()
	if err != nil {
		return nil, err
	}
	out := []Image{}
	for _, name := range slices.Sorted(maps.Keys(n.Names)) {
		r, err := s.readRecord(n.Names[name])
		if err != nil {
			return nil, err
		}
		out = append(out, Image{Name: name, ID: r.ID(), Digest: r.Digest, Size: r.Size(), Layers: len(r.Layers)})
	}
	return out, nil
}

// Details are what inspect shows of one image.
type Details struct {
	Name   string      `json:"name"`
	Record Record      `json:"record"`
	Shared map[int]int `json:"-"` // per layer index: how many other images use it
}

// Lookup returns the record of the image named name.
func (s *Store) Lookup(name string) (Record, error) {
	unlock, err := s.lock(false)
	if err != nil {
		return Record{}, err
	}
	defer unlock()
	return s.lookup(name)
}

func (s *Store) lookup(name string) (Record, error) {
	full, err := Name(name)
	if err != nil {
		return Record{}, err
	}
	n, err := s.readNames()
	if err != nil {
		return Record{}, err
	}
	d, ok := n.Names[full]
	if !ok {
		return Record{}, fmt.Errorf("image %s: %w", full, ErrUnknown)
	}
	return s.readRecord(d)
}

// Inspect returns the image named name, and for each of its layers how
// many other images use it.
func (s *Store) Inspect(name string) (Details, error) {
	unlock, err := s.lock(false)
	if err != nil {
		return Details{}, err
	}
	defer unlock()
	r, err := s.lookup(name)
	if err != nil {
		return Details{}, err
	}
	recs, err := s.records()
	if err != nil {
		return Details{}, err
	}
	d := Details{Name: name, Record: r, Shared: map[int]int{}}
	for i, l := range r.Layers {
		for digest, other := range recs {
			if digest != r.Digest && slices.ContainsFunc(other.Layers, func(o Layer) bool { return o.DiffID == l.DiffID }) {
				d.Shared[i]++
			}
		}
	}
	return d, nil
}

// Remove removes the name; the image goes when no other name points at
// it, and each of its layers when no other image uses it.
func (s *Store) Remove(name string) error {
	full, err := Name(name)
	if err != nil {
		return err
	}
	unlock, err := s.lock(true)
	if err != nil {
		return err
	}
	defer unlock()
	n, err := s.readNames()
	if err != nil {
		return err
	}
	digest, ok := n.Names[full]
	if !ok {
		return fmt.Errorf("image %s: %w", full, ErrUnknown)
	}
	delete(n.Names, full)
	if err := s.writeJSON(s.namesPath(), n); err != nil {
		return fmt.Errorf("image store: %w", err)
	}
	if !slices.Contains(mapValues(n.Names), digest) {
		if err := os.Remove(s.recordPath(digest)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("image store: %w", err)
		}
	}
	return s.tidy()
}
