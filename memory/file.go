package memory

import (
	"bytes"
	"fmt"
	"os"

	"github.com/vmmlab/vmm/internal/meminfo"
)

// A snapshot keeps guest RAM in one sparse file: the byte at guest
// address a lies at offset a, pages that are all zeros are holes. A
// restore maps it back copy-on-write (MapFile).

// SaveSparse writes guest RAM into f as such a file. Pages the host never
// backed (never touched by the guest) are skipped without being read,
// unless the host swaps (a swapped-out page is not resident either) or
// the RAM itself came from a file. It returns the bytes written.
func (g *Guest) SaveSparse(f *os.File) (int64, error) {
	var end uint64
	for _, r := range g.regions {
		end = max(end, r.End())
	}
	if err := f.Truncate(int64(end)); err != nil {
		return 0, fmt.Errorf("memory file: %w", err)
	}
	useResidency := g.mapped && !g.fromFile && !hostSwaps()
	zero := make([]byte, pageSize)
	var written int64
	for _, r := range g.regions {
		var resident []byte
		if useResidency {
			resident = make([]byte, len(r.Data)/pageSize)
			if err := mincore(r.Data, resident); err != nil {
				resident = nil // read every page then
			}
		}
		for off := 0; off < len(r.Data); {
			// a run of pages with data
			start := off
			for off < len(r.Data) && (resident == nil || resident[off/pageSize]&1 != 0) && !bytes.Equal(r.Data[off:off+pageSize], zero) {
				off += pageSize
			}
			if off > start {
				n, err := f.WriteAt(r.Data[start:off], int64(r.Base)+int64(start))
				written += int64(n)
				if err != nil {
					return written, fmt.Errorf("memory file: %w", err)
				}
				continue
			}
			off += pageSize // a hole
		}
	}
	return written, nil
}

// hostSwaps reports whether the host has swap space in use or on offer.
func hostSwaps() bool {
	mi, err := meminfo.Read(meminfo.Path)
	total, ok := mi["SwapTotal"]
	return err != nil || !ok || total > 0 // unknown: assume it does
}

// MapFile maps each span from the snapshot memory file f, private and
// copy-on-write: pages are read from f as the guest touches them, writes
// stay in this process, and several VMs restored from one file share its
// page cache. The file must cover every span: a mapping past its end
// would fault the host process.
func MapFile(f *os.File, spans ...Span) (*Guest, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("memory file: %w", err)
	}
	g, err := Map(spans...)
	if err != nil {
		return nil, err
	}
	g.fromFile = true
	for _, r := range g.regions {
		if r.End() > uint64(st.Size()) {
			g.Close()
			return nil, fmt.Errorf("memory file %s holds %d bytes, guest RAM reaches %#x: truncated?", f.Name(), st.Size(), r.End())
		}
		if err := mapFileOver(r.Data, int(f.Fd()), int64(r.Base)); err != nil {
			g.Close()
			return nil, fmt.Errorf("map memory file at %#x: %w", r.Base, err)
		}
	}
	return g, nil
}
