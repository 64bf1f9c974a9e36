package memory

import (
	"encoding/binary"
	"fmt"
	"io"

	"golang.org/x/sys/unix"
)

// PageRange is guest page frames [First, First+Count); Written says the
// guest wrote them (they are private copies, no longer the file's pages).
type PageRange struct {
	First, Count uint64
	Written      bool
}

// The bits of a /proc/PID/pagemap entry Resident reads: the page is in
// RAM and mapped in the process's page tables; it is a page of a file
// (or shared), not a private copy.
const (
	pagemapPresent = 1 << 63
	pagemapFile    = 1 << 61
)

// pagemapChunk is how many pagemap entries Resident reads at a time.
const pagemapChunk = 8192

// Resident lists the guest pages mapped in this process's page tables
// now, in address order, from the process's own pagemap
// (/proc/self/pagemap, opened by the caller): on guest RAM mapped from a
// snapshot's memory file, the pages the guest (or vmm) touched since the
// restore. Not mincore(2), which says what the page cache holds.
func (g *Guest) Resident(pagemap io.ReaderAt) ([]PageRange, error) {
	var out []PageRange
	buf := make([]byte, 8*pagemapChunk)
	for _, r := range g.regions {
		pages := uint64(len(r.Data)) / pageSize
		hostPage := uint64(r.hostAddr()) / pageSize
		for done := uint64(0); done < pages; {
			n := min(pages-done, pagemapChunk)
			b := buf[:8*n]
			if _, err := pagemap.ReadAt(b, int64(8*(hostPage+done))); err != nil {
				return nil, fmt.Errorf("pagemap of guest RAM at %#x: %w", r.Base, err)
			}
			for i := uint64(0); i < n; i++ {
				e := binary.LittleEndian.Uint64(b[8*i:])
				if e&pagemapPresent == 0 {
					continue
				}
				out = addPage(out, r.Base/pageSize+done+i, e&pagemapFile == 0)
			}
			done += n
		}
	}
	return out, nil
}

// addPage appends page p to ranges in address order.
func addPage(rs []PageRange, p uint64, written bool) []PageRange {
	if k := len(rs); k > 0 && rs[k-1].First+rs[k-1].Count == p && rs[k-1].Written == written {
		rs[k-1].Count++
		return rs
	}
	return append(rs, PageRange{p, 1, written})
}

// Prefetch maps the guest pages of rs into this process's page tables
// before the guest runs, reading them from the memory file where the page
// cache lacks them, in one pass in address order: MADV_POPULATE_READ,
// and MADV_POPULATE_WRITE for pages the guest wrote, which makes their
// private copies now instead of at the guest's first write (Linux 5.14;
// on older kernels MADV_WILLNEED, which only reads them into the page
// cache). It returns the pages it was asked for.
func (g *Guest) Prefetch(rs []PageRange) (uint64, error) {
	var n uint64
	populate := true
	for _, r := range rs {
		if r.Count > (1<<64-1)/pageSize || r.First > (1<<64-1)/pageSize {
			return n, fmt.Errorf("prefetch pages %d+%d: %w", r.First, r.Count, ErrOutOfRange)
		}
		b, err := g.Slice(r.First*pageSize, r.Count*pageSize)
		if err != nil {
			return n, fmt.Errorf("prefetch: %w", err)
		}
		if !g.mapped {
			n += r.Count
			continue
		}
		advice := unix.MADV_WILLNEED
		if populate {
			advice = unix.MADV_POPULATE_READ
			if r.Written {
				advice = unix.MADV_POPULATE_WRITE
			}
		}
		err = unix.Madvise(b, advice)
		if err == unix.EINVAL && populate { // before Linux 5.14
			populate = false
			err = unix.Madvise(b, unix.MADV_WILLNEED)
		}
		if err != nil {
			return n, fmt.Errorf("prefetch guest memory %#x+%#x: %w", r.First*pageSize, r.Count*pageSize, err)
		}
		n += r.Count
	}
	return n, nil
}
