package boot

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// Guest-physical addresses of what the loader writes. Everything below
// 1 MiB except the EBDA/BIOS area is free for these structures.
const (
	GDTAddr      = 0x500
	ZeroPageAddr = 0x7000
	PML4Addr     = 0x9000 // then the PDPT and four page directories
	CmdlineAddr  = 0x20000
	cmdlineRoom  = 0x10000
	EBDAStart    = 0x9fc00
	HighMemStart = 0x100000 // 1 MiB: where the protected-mode kernel goes
	KernelAddr   = HighMemStart

	// MMIOHoleStart is where guest RAM below 4 GiB ends: [3 GiB, 4 GiB) holds
	// the APICs and device MMIO. RAM beyond it continues at 4 GiB.
	MMIOHoleStart = 3 << 30
	fourGiB       = 1 << 32
)

// Range is a span of guest-physical addresses.
type Range struct{ Start, Size uint64 }

// End is the first address after r.
func (r Range) End() uint64 { return r.Start + r.Size }

// RAMRanges splits size bytes of guest RAM around the MMIO hole.
func RAMRanges(size uint64) []Range {
	if size <= MMIOHoleStart {
		return []Range{{0, size}}
	}
	return []Range{{0, MMIOHoleStart}, {fourGiB, size - MMIOHoleStart}}
}

// E820 entry types.
const (
	E820RAM      = 1
	E820Reserved = 2
)

// E820Entry is one entry of the BIOS memory map given to the kernel.
type E820Entry struct {
	Addr, Size uint64
	Type       uint32
}

// E820 builds the memory map for the RAM ranges: low RAM up to the EBDA,
// the EBDA and BIOS area (where the ACPI tables live) reserved, the rest RAM.
func E820(ram []Range) []E820Entry {
	var m []E820Entry
	for _, r := range ram {
		if r.Start == 0 {
			m = append(m, E820Entry{0, EBDAStart, E820RAM}, E820Entry{EBDAStart, HighMemStart - EBDAStart, E820Reserved})
			if r.End() > HighMemStart {
				m = append(m, E820Entry{HighMemStart, r.End() - HighMemStart, E820RAM})
			}
			continue
		}
		m = append(m, E820Entry{r.Start, r.Size, E820RAM})
	}
	return m
}

// Segment is a code, data or task segment as the CPU caches it.
type Segment struct {
	Selector                     uint16
	Base                         uint64
	Limit                        uint32
	Type, DPL                    uint8
	Present, S, L, DB, G, Usable bool
}

// Entry is the vCPU state at the kernel entry point: 64-bit for a
// bzImage (RSI points at the zero page), 32-bit for PVH (RBX points at
// hvm_start_info).
type Entry struct {
	RIP, RSI, RBX, RFLAGS uint64
	CR0, CR3, CR4, EFER   uint64
	GDTBase               uint64
	GDTLimit              uint16
	Code, Data, TSS       Segment
}

// Control-register bits used for long mode.
const (
	cr0PE   = 1 << 0
	cr0ET   = 1 << 4
	cr0PG   = 1 << 31
	cr4PAE  = 1 << 5
	eferLME = 1 << 8
	eferLMA = 1 << 10
)

// gdtEntries holds null, null, __BOOT_CS (0x10), __BOOT_DS (0x18) and a TSS (0x20).
func gdtEntries() [5]uint64 {
	return [5]uint64{0, 0, 0x00af9b000000ffff, 0x00cf93000000ffff, 0x00008b0000000067}
}

func descriptorSegment(sel uint16) Segment { return gdtSegment(gdtEntries()[sel>>3], sel) }

// gdtSegment decodes descriptor d as the CPU caches it when sel loads it.
// The cached limit is in bytes: with the granularity bit the descriptor's
// 20-bit limit counts 4 KiB pages (0xfffff is all 4 GiB). Long mode ignores
// limits, but a 32-bit entry (PVH) with a 1 MiB code limit faults at once.
func gdtSegment(d uint64, sel uint16) Segment {
	limit := uint32(d&0xffff | (d>>48&0xf)<<16)
	g := d>>55&1 == 1
	if g {
		limit = limit<<12 | 0xfff
	}
	return Segment{
		Selector: sel,
		Base:     (d>>16)&0xffffff | (d>>56)<<24,
		Limit:    limit,
		Type:     uint8(d >> 40 & 0xf),
		S:        d>>44&1 == 1,
		DPL:      uint8(d >> 45 & 3),
		Present:  d>>47&1 == 1,
		L:        d>>53&1 == 1,
		DB:       d>>54&1 == 1,
		G:        g,
		Usable:   true,
	}
}

// Chunk is bytes to copy into guest memory at Addr.
type Chunk struct {
	Addr uint64
	Data []byte
	What string // what it is, for people (vmm boot --explain)
}

// Config is what the loader needs besides the kernel image.
type Config struct {
	RAM        []Range // from RAMRanges
	Cmdline    string
	InitrdSize uint64 // 0: no initrd
	RSDPAddr   uint64 // 0: no ACPI
}

// Plan is a complete boot layout: what to write where, where the initrd
// goes, and the register state at entry.
type Plan struct {
	Chunks     []Chunk // kernel, zero page, command line, GDT, page tables
	InitrdAddr uint64
	E820       []E820Entry
	Entry      Entry
}

// Layout computes the boot plan for im. It fails with a message a user can
// act on when memory is too small or the command line too long.
func Layout(im *Image, c Config) (*Plan, error) {
	if len(c.RAM) == 0 || c.RAM[0].Start != 0 {
		return nil, fmt.Errorf("guest RAM must start at address 0")
	}
	lowEnd := c.RAM[0].End()
	kernelEnd := KernelAddr + uint64(im.InitSize)
	if kernelEnd > lowEnd {
		return nil, fmt.Errorf("not enough memory: the kernel needs %d MiB from its load address at 1 MiB, the guest has %d MiB below 3 GiB",
			(uint64(im.InitSize)+(1<<20-1))>>20, lowEnd>>20)
	}
	if uint32(len(c.Cmdline)) > im.CmdlineMax || len(c.Cmdline) >= cmdlineRoom {
		return nil, fmt.Errorf("kernel command line is %d bytes, this kernel takes at most %d", len(c.Cmdline), im.CmdlineMax)
	}
	if strings.IndexByte(c.Cmdline, 0) >= 0 {
		return nil, fmt.Errorf("kernel command line contains a NUL byte")
	}
	p := &Plan{E820: E820(c.RAM)}
	if c.InitrdSize > 0 {
		top := lowEnd
		if !im.InitrdAbove4G && uint64(im.InitrdAddrMax)+1 < top {
			top = uint64(im.InitrdAddrMax) + 1
		}
		if c.InitrdSize > top || (top-c.InitrdSize)&^0xfff < kernelEnd {
			return nil, fmt.Errorf("not enough memory: the initrd (%d MiB) does not fit between the kernel's end at %d MiB and %d MiB",
				(c.InitrdSize+(1<<20-1))>>20, kernelEnd>>20, top>>20)
		}
		p.InitrdAddr = (top - c.InitrdSize) &^ 0xfff
	}
	zp := zeroPage(im, c, p)
	cmdline := append([]byte(c.Cmdline), 0)
	entries := gdtEntries()
	gdt := make([]byte, 8*len(entries))
	for i, d := range entries {
		binary.LittleEndian.PutUint64(gdt[8*i:], d)
	}
	p.Chunks = []Chunk{
		{KernelAddr, im.Kernel, "the kernel's protected-mode part (compressed; it decompresses itself)"},
		{ZeroPageAddr, zp, "the zero page (struct boot_params: setup header, e820 map, command line and initrd pointers)"},
		{CmdlineAddr, cmdline, "the kernel command line"},
		{GDTAddr, gdt, "the GDT (null, 64-bit code, data, TSS descriptors)"},
		{PML4Addr, identityPageTables(), "the page tables (PML4, PDPT, 4 page directories: the first 4 GiB mapped 1:1 with 2 MiB pages)"},
	}
	p.Entry = Entry{
		RIP:      KernelAddr + 0x200, // the 64-bit entry point, startup_64
		RSI:      ZeroPageAddr,
		RFLAGS:   2,
		CR0:      cr0PE | cr0ET | cr0PG,
		CR3:      PML4Addr,
		CR4:      cr4PAE,
		EFER:     eferLME | eferLMA,
		GDTBase:  GDTAddr,
		GDTLimit: uint16(len(gdt) - 1),
		Code:     descriptorSegment(0x10),
		Data:     descriptorSegment(0x18),
		TSS:      descriptorSegment(0x20),
	}
	return p, nil
}

// Zero-page (struct boot_params) offsets outside the setup header.
const (
	zpACPIRSDP    = 0x070
	zpE820Count   = 0x1e8
	zpE820Table   = 0x2d0
	zpE820Max     = 128
	e820EntrySize = 20
)

func zeroPage(im *Image, c Config, p *Plan) []byte {
	zp := make([]byte, zeroPageSize)
	le := binary.LittleEndian
	copy(zp[hdrSetupSects:], im.header)
	zp[hdrTypeOfLoader] = 0xff // undefined loader
	zp[hdrLoadflags] |= canUseHeap
	le.PutUint16(zp[hdrHeapEndPtr:], 0xfe00)
	le.PutUint32(zp[hdrCmdLinePtr:], CmdlineAddr)
	le.PutUint32(zp[hdrRamdiskImage:], uint32(p.InitrdAddr))
	le.PutUint32(zp[hdrRamdiskSize:], uint32(c.InitrdSize))
	le.PutUint64(zp[zpACPIRSDP:], c.RSDPAddr)
	n := min(len(p.E820), zpE820Max)
	zp[zpE820Count] = byte(n)
	for i, e := range p.E820[:n] {
		b := zp[zpE820Table+e820EntrySize*i:]
		le.PutUint64(b, e.Addr)
		le.PutUint64(b[8:], e.Size)
		le.PutUint32(b[16:], e.Type)
	}
	return zp
}

// identityPageTables maps the first 4 GiB 1:1 with 2 MiB pages: a PML4, a
// PDPT and four page directories, laid out from PML4Addr.
func identityPageTables() []byte {
	const page = 4096
	b := make([]byte, 6*page)
	le := binary.LittleEndian
	const present, writable, huge = 1, 2, 0x80
	le.PutUint64(b, PML4Addr+page|present|writable)
	for i := uint64(0); i < 4; i++ {
		le.PutUint64(b[page+8*i:], PML4Addr+(2+i)*page|present|writable)
	}
	for i := uint64(0); i < 4*512; i++ {
		le.PutUint64(b[2*page+8*i:], i<<21|present|writable|huge)
	}
	return b
}
