// Package memory owns guest physical memory: host mappings placed at
// guest-physical addresses, and bounds-checked reads and writes by guest
// address. A guest-supplied address or length yields an error, never a panic.
package memory

import (
	"errors"
	"fmt"
	"sort"

	"golang.org/x/sys/unix"
)

// ErrOutOfRange is wrapped by every access that falls outside guest RAM.
var ErrOutOfRange = errors.New("guest address out of range")

// Span is a range of guest-physical addresses to back with RAM.
type Span struct {
	Base uint64
	Size uint64
}

// Region is a span of guest RAM and the host bytes behind it.
type Region struct {
	Base uint64
	Data []byte
}

// HostAddr is the host virtual address behind the region's first byte.
func (r Region) HostAddr() uintptr { return r.hostAddr() }

// End is the first guest address after the region.
func (r Region) End() uint64 { return r.Base + uint64(len(r.Data)) }

// Guest is the guest's RAM: non-overlapping regions sorted by address.
type Guest struct {
	regions  []Region
	mapped   bool // regions came from mmap and must be unmapped
	fromFile bool // regions map a snapshot's memory file (MapFile)
	faults   faults
}

const pageSize = 4096

// Map allocates anonymous, lazily-populated host memory for each span. Pages
// are not touched here: the host commits them as the guest uses them. Each
// mapping is placed so that KVM can back the guest with 2 MiB pages (see
// mapGuest).
func Map(spans ...Span) (*Guest, error) {
	g := &Guest{mapped: true}
	for _, s := range spans {
		if s.Size == 0 || s.Base%pageSize != 0 || s.Size%pageSize != 0 {
			g.Close()
			return nil, fmt.Errorf("memory span %#x+%#x: base and size must be non-zero multiples of 4 KiB", s.Base, s.Size)
		}
		if s.Size > 1<<46 || s.Base > 1<<52 {
			g.Close()
			return nil, fmt.Errorf("memory span %#x+%#x: too large", s.Base, s.Size)
		}
		data, err := mapGuest(s.Base, s.Size)
		if err != nil {
			g.Close()
			return nil, fmt.Errorf("mmap %d MiB of guest memory at %#x: %w", s.Size>>20, s.Base, err)
		}
		g.regions = append(g.regions, Region{Base: s.Base, Data: data})
	}
	if err := g.sortAndCheck(); err != nil {
		g.Close()
		return nil, err
	}
	return g, nil
}

// Wrap makes a Guest over existing byte slices; tests use it to stand in for
// guest RAM. Close does not free them.
func Wrap(regions ...Region) (*Guest, error) {
	g := &Guest{regions: append([]Region(nil), regions...)}
	if err := g.sortAndCheck(); err != nil {
		return nil, err
	}
	return g, nil
}

func (g *Guest) sortAndCheck() error {
	sort.Slice(g.regions, func(i, j int) bool { return g.regions[i].Base < g.regions[j].Base })
	for i, r := range g.regions {
		if r.End() < r.Base {
			return fmt.Errorf("memory region %#x+%#x wraps around", r.Base, len(r.Data))
		}
		if i > 0 && g.regions[i-1].End() > r.Base {
			return fmt.Errorf("memory regions %#x+%#x and %#x+%#x overlap",
				g.regions[i-1].Base, len(g.regions[i-1].Data), r.Base, len(r.Data))
		}
	}
	return nil
}

// Close unmaps memory made by Map. The Guest must not be used afterwards.
func (g *Guest) Close() error {
	var errs []error
	if g.mapped {
		for _, r := range g.regions {
			if err := unmapGuest(r.Data); err != nil {
				errs = append(errs, fmt.Errorf("munmap guest memory at %#x: %w", r.Base, err))
			}
		}
	}
	g.regions = nil
	return errors.Join(errs...)
}

// Regions lists the RAM regions in address order.
func (g *Guest) Regions() []Region { return g.regions }

// Size is the total RAM in bytes.
func (g *Guest) Size() uint64 {
	var n uint64
	for _, r := range g.regions {
		n += uint64(len(r.Data))
	}
	return n
}

// Slice returns the host bytes behind guest range [addr, addr+n). The range
// must lie inside one region. The slice aliases guest RAM.
func (g *Guest) Slice(addr, n uint64) ([]byte, error) {
	i := sort.Search(len(g.regions), func(i int) bool { return g.regions[i].End() > addr })
	if i == len(g.regions) || addr < g.regions[i].Base {
		return nil, fmt.Errorf("%#x+%#x: %w", addr, n, ErrOutOfRange)
	}
	r := g.regions[i]
	off := addr - r.Base
	if n > uint64(len(r.Data))-off {
		return nil, fmt.Errorf("%#x+%#x: %w (region ends at %#x)", addr, n, ErrOutOfRange, r.End())
	}
	return r.Data[off : off+n : off+n], nil
}

// Read copies guest memory at addr into p.
func (g *Guest) Read(addr uint64, p []byte) error {
	b, err := g.Slice(addr, uint64(len(p)))
	if err != nil {
		return fmt.Errorf("read guest memory: %w", err)
	}
	return g.guardedCopy(p, b, addr)
}

// Write copies p into guest memory at addr.
func (g *Guest) Write(addr uint64, p []byte) error {
	b, err := g.Slice(addr, uint64(len(p)))
	if err != nil {
		return fmt.Errorf("write guest memory: %w", err)
	}
	return g.guardedCopy(b, p, addr)
}

// HugePages is how guest RAM uses transparent huge pages.
type HugePages int

// The transparent huge page policies for guest RAM.
const (
	HugePagesDefault HugePages = iota // the host's policy (/sys/kernel/mm/transparent_hugepage)
	HugePagesOn                       // madvise(MADV_HUGEPAGE): fewer faults and TLB misses, 2 MiB per touch
	HugePagesOff                      // madvise(MADV_NOHUGEPAGE): only the 4 KiB pages the guest touches
)

// SetHugePages applies policy p to every mapped region.
func (g *Guest) SetHugePages(p HugePages) error {
	advice := 0
	switch p {
	case HugePagesDefault:
		return nil
	case HugePagesOn:
		advice = unix.MADV_HUGEPAGE
	case HugePagesOff:
		advice = unix.MADV_NOHUGEPAGE
	default:
		return fmt.Errorf("huge page policy %d: unknown", p)
	}
	if !g.mapped {
		return nil
	}
	for _, r := range g.regions {
		if err := unix.Madvise(r.Data, advice); err != nil {
			return fmt.Errorf("madvise guest memory at %#x: %w", r.Base, err)
		}
	}
	return nil
}

// SetMergeable marks every mapped region for the host's same-page
// merging (KSM, madvise MADV_MERGEABLE): identical pages of this and
// other guests may then share one host page, copied again on a write.
// It does nothing until the host runs ksmd (/sys/kernel/mm/ksm/run).
func (g *Guest) SetMergeable() error {
	if !g.mapped {
		return nil
	}
	for _, r := range g.regions {
		if err := unix.Madvise(r.Data, unix.MADV_MERGEABLE); err != nil {
			return fmt.Errorf("madvise guest memory at %#x mergeable (is the host kernel built with KSM?): %w", r.Base, err)
		}
	}
	return nil
}

// Discard gives the host back the pages behind guest range [addr,
// addr+n) (a balloon's inflated or reported free pages): they read as
// zeros afterwards and cost the host nothing until the guest touches them
// again. The range must be page-aligned and inside one region.
func (g *Guest) Discard(addr, n uint64) error {
	if addr%pageSize != 0 || n%pageSize != 0 {
		return fmt.Errorf("discard %#x+%#x: not page-aligned", addr, n)
	}
	b, err := g.Slice(addr, n)
	if err != nil {
		return fmt.Errorf("discard guest memory: %w", err)
	}
	if !g.mapped || n == 0 {
		clear(b)
		return nil
	}
	// Private anonymous memory: MADV_DONTNEED frees the pages at once and
	// the next touch faults in a zero page.
	if err := unix.Madvise(b, unix.MADV_DONTNEED); err != nil {
		return fmt.Errorf("discard guest memory %#x+%#x: %w", addr, n, err)
	}
	return nil
}
