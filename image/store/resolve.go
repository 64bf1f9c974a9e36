package store

import (
	"context"
	"errors"
	"io"
	"os"
)

// Resolve finds ref by name or, when no name matches and ref is a file
// or directory, imports it unnamed (kept by digest): what vmm run IMAGE
// and vmm container run IMAGE accept.
func (s *Store) Resolve(ctx context.Context, ref string, progress io.Writer) (Record, error) {
	r, err := s.Lookup(ref)
	if err == nil || !errors.Is(err, ErrUnknown) && !isPath(ref) {
		return r, err
	}
	if _, serr := os.Stat(ref); serr != nil {
		return r, err // neither a name nor a file: the lookup's error
	}
	imp, err := s.Import(ctx, ref, ImportOptions{Unnamed: true, Progress: progress})
	return imp.Record, err
}

// isPath is true for what can only be a file name (not an image name).
func isPath(ref string) bool {
	_, err := Name(ref)
	return err != nil
}
