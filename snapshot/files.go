package snapshot

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// File is one file of a snapshot directory, as the manifest lists it.
type File struct {
	Name   string
	Size   int64
	Digest string // "crc32c:HEX" for state.json, "crc32c-pages:HEX" for memory
}

// The digests are checksums against damage and mix-ups, not signatures
// (vmm links no cryptographic hash). The memory file's is CRC-32C over
// every 4 KiB page that is not all zeros, each preceded by its offset (8
// bytes, little-endian): it costs what writing the pages costs, and a
// hole or a page of zeros reads the same, so a copy that fills the holes
// keeps its digest.
const (
	digestCRC32C = "crc32c:"
	digestPages  = "crc32c-pages:"
	pageSize     = 4096
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Write writes state.json and then, last, the manifest with the size and
// digest of state.json and of the memory file already in dir.
func Write(dir string, m Manifest, s State) error {
	st, err := json.Marshal(stateToWire(s))
	if err != nil {
		return err
	}
	if err := writeFile(dir, StateFile, st); err != nil {
		return err
	}
	mem, err := memoryFile(dir)
	if err != nil {
		return err
	}
	m.Files = []File{{StateFile, int64(len(st)), crc32cDigest(st)}, mem}
	man, err := json.MarshalIndent(manifestToWire(m), "", "  ")
	if err != nil {
		return err
	}
	return writeFile(dir, ManifestFile, append(man, '\n'))
}

// writeFile creates file name in dir (it must not exist) and syncs it.
func writeFile(dir, name string, b []byte) error {
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// memoryFile reads the memory file's size and digest.
func memoryFile(dir string) (File, error) {
	f, err := os.Open(filepath.Join(dir, MemoryFile))
	if err != nil {
		return File{}, err
	}
	defer f.Close()
	digest, size, err := pagesDigest(f)
	if err != nil {
		return File{}, fmt.Errorf("memory file: %w", err)
	}
	return File{MemoryFile, size, digest}, nil
}

func crc32cDigest(b []byte) string {
	return fmt.Sprintf("%s%08x", digestCRC32C, crc32.Checksum(b, castagnoli))
}

// pagesDigest computes the memory file's digest, reading only the parts
// of the file that hold data.
func pagesDigest(f *os.File) (string, int64, error) {
	st, err := f.Stat()
	if err != nil {
		return "", 0, err
	}
	crc := uint32(0)
	page := make([]byte, pageSize)
	var off [8]byte
	err = dataPages(f, st.Size(), func(at int64) error {
		if _, err := f.ReadAt(page, at); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if allZero(page) {
			return nil
		}
		binary.LittleEndian.PutUint64(off[:], uint64(at))
		crc = crc32.Update(crc, castagnoli, off[:])
		crc = crc32.Update(crc, castagnoli, page)
		return nil
	})
	return fmt.Sprintf("%s%08x", digestPages, crc), st.Size(), err
}

func allZero(b []byte) bool {
	var zero [pageSize]byte
	return bytes.Equal(b, zero[:len(b)])
}

// CheckMemoryFile tests that an opened memory file has the size the
// manifest lists (a truncated file is refused before the guest runs;
// its digest is VerifyMemory's, which reads all its data).
func CheckMemoryFile(f *os.File, m Manifest) error {
	want, err := listed(m, MemoryFile)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.Size() != want.Size {
		return fmt.Errorf("memory file has %d bytes; the manifest says %d", st.Size(), want.Size)
	}
	return nil
}

// VerifyMemory reads the whole memory file of a snapshot and tests its
// size and digest against the manifest.
func VerifyMemory(dir string, m Manifest) error {
	want, err := listed(m, MemoryFile)
	if err != nil {
		return err
	}
	got, err := memoryFile(dir)
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("memory file: %d bytes, %s; the manifest says %d bytes, %s", got.Size, got.Digest, want.Size, want.Digest)
	}
	return nil
}

// listed finds file name in the manifest.
func listed(m Manifest, name string) (File, error) {
	for _, f := range m.Files {
		if f.Name == name {
			return f, nil
		}
	}
	return File{}, fmt.Errorf("the manifest does not list %s", name)
}

// readManifest reads manifest.json: its version first, so that another
// version is refused by its number, not by a field this one lacks.
func readManifest(dir string) (Manifest, error) {
	b, err := readLimited(filepath.Join(dir, ManifestFile))
	if err != nil {
		return Manifest{}, fmt.Errorf("manifest: %w (an unfinished or corrupt snapshot)", err)
	}
	var head wireHead
	if err := json.Unmarshal(b, &head); err != nil {
		return Manifest{}, fmt.Errorf("manifest: %w (an unfinished or corrupt snapshot)", err)
	}
	if head.Version != Version {
		return Manifest{}, fmt.Errorf("format version %d; this vmm reads version %d (take the snapshot again with this vmm)", head.Version, Version)
	}
	var w wireManifest
	if err := decode(bytes.NewReader(b), &w); err != nil {
		return Manifest{}, fmt.Errorf("manifest: %w", err)
	}
	return w.runtime()
}

// readState reads state.json after checking its size and digest.
func readState(dir string, m Manifest) (State, error) {
	want, err := listed(m, StateFile)
	if err != nil {
		return State{}, err
	}
	b, err := readLimited(filepath.Join(dir, StateFile))
	if err != nil {
		return State{}, err
	}
	if int64(len(b)) != want.Size || crc32cDigest(b) != want.Digest {
		return State{}, fmt.Errorf("%d bytes, %s; the manifest says %d bytes, %s", len(b), crc32cDigest(b), want.Size, want.Digest)
	}
	var w wireState
	if err := decode(bytes.NewReader(b), &w); err != nil {
		return State{}, err
	}
	return w.runtime()
}

// readLimited reads a file of at most maxStateBytes.
func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxStateBytes+1))
	if err == nil && len(b) > maxStateBytes {
		err = fmt.Errorf("more than %d bytes", maxStateBytes)
	}
	return b, err
}

// decode reads one JSON value strictly: unknown fields, a second value
// or trailing bytes are errors.
func decode(r io.Reader, v any) error {
	d := json.NewDecoder(r)
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return errors.New("trailing data")
	}
	return nil
}

// parseMAC reads "52:54:00:12:34:56".
func parseMAC(s string) ([6]byte, error) {
	var mac [6]byte
	parts := strings.Split(s, ":")
	if len(parts) != 6 {
		return mac, fmt.Errorf("MAC %q", s)
	}
	for i, p := range parts {
		b, err := hex.DecodeString(p)
		if err != nil || len(b) != 1 {
			return mac, fmt.Errorf("MAC %q", s)
		}
		mac[i] = b[0]
	}
	return mac, nil
}

// dataPages calls fn with the offset of every page in the file's data
// regions (SEEK_DATA and SEEK_HOLE skip the holes; without them, every
// page).
func dataPages(f *os.File, size int64, fn func(at int64) error) error {
	fd := int(f.Fd())
	for at := int64(0); at < size; {
		data, err := unix.Seek(fd, at, unix.SEEK_DATA)
		switch {
		case errors.Is(err, unix.ENXIO):
			return nil // only a hole is left
		case errors.Is(err, unix.EINVAL):
			data = at // no SEEK_DATA here: read it all
		case err != nil:
			return err
		}
		hole, err := unix.Seek(fd, data, unix.SEEK_HOLE)
		if err != nil {
			hole = size
		}
		for p := data &^ (pageSize - 1); p < hole; p += pageSize {
			if err := fn(p); err != nil {
				return err
			}
		}
		at = (hole + pageSize - 1) &^ (pageSize - 1)
	}
	return nil
}
