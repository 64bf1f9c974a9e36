package boot

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// Where the PVH loader writes the hvm_start_info structure, its module
// list (the initrd) and its memory map: one page below the zero page's
// (the zero page is not used by a PVH boot).
const (
	StartInfoAddr   = 0x6000
	startInfoSize   = 56
	modlistAddr     = StartInfoAddr + 0x40
	memmapAddr      = StartInfoAddr + 0x80
	memmapMax       = (0x1000 - 0x80) / memmapEntrySize
	memmapEntrySize = 24

	startInfoMagic = 0x336ec578 // XEN_HVM_START_MAGIC_VALUE
	startInfoV1    = 1
)

// pvhGDT holds null, null, a flat 32-bit code segment (0x10), a flat data
// segment (0x18) and a 32-bit TSS (0x20): the PVH entry state.
func pvhGDT() [5]uint64 {
	return [5]uint64{0, 0, 0x00cf9b000000ffff, 0x00cf93000000ffff, 0x00008b0000000067}
}

// LayoutPVH computes the boot plan for an ELF kernel entered through its
// PVH entry point: the segments at their physical addresses, the command
// line, the initrd as the one module, and hvm_start_info (with the memory
// map and the ACPI RSDP) at StartInfoAddr, whose address the kernel gets
// in EBX, in 32-bit protected mode without paging.
func LayoutPVH(im *ELFImage, c Config) (*Plan, error) {
	if len(c.RAM) == 0 || c.RAM[0].Start != 0 {
		return nil, fmt.Errorf("guest RAM must start at address 0")
	}
	lowEnd := c.RAM[0].End()
	for _, s := range im.Segments {
		if s.Addr < HighMemStart {
			return nil, fmt.Errorf("kernel segment at %#x: below 1 MiB, where vmm's boot structures go", s.Addr)
		}
	}
	if im.End > lowEnd {
		return nil, fmt.Errorf("not enough memory: the kernel needs %d MiB from 1 MiB up, the guest has %d MiB below 3 GiB",
			(im.End-HighMemStart+(1<<20-1))>>20, lowEnd>>20)
	}
	if len(c.Cmdline) >= cmdlineRoom {
		return nil, fmt.Errorf("kernel command line is %d bytes, at most %d fit", len(c.Cmdline), cmdlineRoom-1)
	}
	if strings.IndexByte(c.Cmdline, 0) >= 0 {
		return nil, fmt.Errorf("kernel command line contains a NUL byte")
	}
	p := &Plan{E820: E820(c.RAM)}
	if len(p.E820) > memmapMax {
		return nil, fmt.Errorf("%d memory map entries: at most %d fit", len(p.E820), memmapMax)
	}
	if c.InitrdSize > 0 {
		kernelEnd := (im.End + 0xfff) &^ 0xfff
		if c.InitrdSize > lowEnd || (lowEnd-c.InitrdSize)&^0xfff < kernelEnd {
			return nil, fmt.Errorf("not enough memory: the initrd (%d MiB) does not fit between the kernel's end at %d MiB and %d MiB",
				(c.InitrdSize+(1<<20-1))>>20, kernelEnd>>20, lowEnd>>20)
		}
		p.InitrdAddr = (lowEnd - c.InitrdSize) &^ 0xfff
	}
	entries := pvhGDT()
	gdt := make([]byte, 8*len(entries))
	for i, d := range entries {
		binary.LittleEndian.PutUint64(gdt[8*i:], d)
	}
	for _, s := range im.Segments {
		p.Chunks = append(p.Chunks, Chunk{s.Addr, s.Data, "an ELF program segment of the kernel"}) // guest RAM is zero past Data
	}
	p.Chunks = append(p.Chunks,
		Chunk{StartInfoAddr, startInfo(c, p), "hvm_start_info (command line, initrd module, memory map, RSDP)"},
		Chunk{CmdlineAddr, append([]byte(c.Cmdline), 0), "the kernel command line"},
		Chunk{GDTAddr, gdt, "the GDT (32-bit flat code and data)"},
	)
	seg := func(sel uint16) Segment { return gdtSegment(entries[sel>>3], sel) }
	p.Entry = Entry{
		RIP:      uint64(im.Entry),
		RBX:      StartInfoAddr,
		RFLAGS:   2,
		CR0:      cr0PE | cr0ET,
		GDTBase:  GDTAddr,
		GDTLimit: uint16(len(gdt) - 1),
		Code:     seg(0x10),
		Data:     seg(0x18),
		TSS:      seg(0x20),
	}
	return p, nil
}

// startInfo builds struct hvm_start_info with its module list and memory
// map, all in the page at StartInfoAddr.
func startInfo(c Config, p *Plan) []byte {
	b := make([]byte, 0x80+memmapEntrySize*len(p.E820))
	le := binary.LittleEndian
	le.PutUint32(b[0:], startInfoMagic)
	le.PutUint32(b[4:], startInfoV1)
	if c.InitrdSize > 0 {
		le.PutUint32(b[12:], 1) // nr_modules
		le.PutUint64(b[16:], modlistAddr)
		m := b[modlistAddr-StartInfoAddr:]
		le.PutUint64(m[0:], p.InitrdAddr)
		le.PutUint64(m[8:], c.InitrdSize)
	}
	le.PutUint64(b[24:], CmdlineAddr)
	le.PutUint64(b[32:], c.RSDPAddr)
	le.PutUint64(b[40:], memmapAddr)
	le.PutUint32(b[48:], uint32(len(p.E820)))
	for i, e := range p.E820 {
		m := b[memmapAddr-StartInfoAddr+memmapEntrySize*i:]
		le.PutUint64(m[0:], e.Addr)
		le.PutUint64(m[8:], e.Size)
		le.PutUint32(m[16:], e.Type)
	}
	return b
}

// Load lays out either kind of kernel vmm boots: an ELF vmlinux with a
// PVH entry point, or a bzImage.
func Load(kernel []byte, c Config) (*Plan, error) {
	if IsELF(kernel) {
		im, err := ParseELF(kernel)
		if err != nil {
			return nil, err
		}
		return LayoutPVH(im, c)
	}
	im, err := ParseBzImage(kernel)
	if err != nil {
		return nil, err
	}
	return Layout(im, c)
}
