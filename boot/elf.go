package boot

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrNotPVH is wrapped when a file is not an x86-64 ELF kernel with a PVH
// entry point.
var ErrNotPVH = errors.New("not a PVH ELF kernel")

// ELF constants used here (the System V ABI and its x86-64 supplement).
const (
	elfHeaderSize  = 64
	elfPhdrSize    = 56
	elfClass64     = 2
	elfLittle      = 1
	elfTypeExec    = 2
	elfMachineX64  = 62
	ptLoad         = 1
	ptNote         = 4
	maxPhdrs       = 64
	xenNotePhys32  = 18 // XEN_ELFNOTE_PHYS32_ENTRY: the 32-bit PVH entry point
	maxKernelBytes = 1 << 30
)

// Segment of an ELF kernel to load: Data at the guest-physical address
// Addr, followed by zeros up to MemSize.
type LoadSegment struct {
	Addr    uint64
	Data    []byte
	MemSize uint64
}

// ELFImage is a parsed and validated vmlinux with a PVH entry point.
type ELFImage struct {
	Segments []LoadSegment
	Entry    uint32 // XEN_ELFNOTE_PHYS32_ENTRY: entered in 32-bit protected mode
	End      uint64 // the first address after the highest segment
}

// IsELF reports whether data starts with the ELF magic.
func IsELF(data []byte) bool { return len(data) >= 4 && string(data[:4]) == "\x7fELF" }

// ParseELF checks that data is a 64-bit x86 ELF executable with a PVH
// entry note and collects its loadable segments. Every offset and size
// is checked against the file; malformed input gives an error, never a
// panic.
func ParseELF(data []byte) (*ELFImage, error) {
	if len(data) < elfHeaderSize || !IsELF(data) {
		return nil, fmt.Errorf("%w: no ELF header", ErrNotPVH)
	}
	le := binary.LittleEndian
	if data[4] != elfClass64 || data[5] != elfLittle {
		return nil, fmt.Errorf("%w: not a 64-bit little-endian ELF file", ErrNotPVH)
	}
	if typ, mach := le.Uint16(data[16:]), le.Uint16(data[18:]); typ != elfTypeExec || mach != elfMachineX64 {
		return nil, fmt.Errorf("%w: ELF type %d for machine %d, want an x86-64 executable", ErrNotPVH, typ, mach)
	}
	phoff, phentsize, phnum := le.Uint64(data[32:]), uint64(le.Uint16(data[54:])), uint64(le.Uint16(data[56:]))
	if phentsize != elfPhdrSize || phnum == 0 || phnum > maxPhdrs {
		return nil, fmt.Errorf("%w: %d program headers of %d bytes", ErrNotPVH, phnum, phentsize)
	}
	if phoff > uint64(len(data)) || phnum*phentsize > uint64(len(data))-phoff {
		return nil, fmt.Errorf("%w: program headers past the end of the file", ErrNotPVH)
	}
	im := &ELFImage{}
	found := false
	for i := range phnum {
		ph := data[phoff+i*phentsize:][:phentsize]
		typ, off, paddr := le.Uint32(ph), le.Uint64(ph[8:]), le.Uint64(ph[24:])
		filesz, memsz := le.Uint64(ph[32:]), le.Uint64(ph[40:])
		if typ != ptLoad && typ != ptNote {
			continue
		}
		if off > uint64(len(data)) || filesz > uint64(len(data))-off {
			return nil, fmt.Errorf("%w: segment %d lies past the end of the file", ErrNotPVH, i)
		}
		body := data[off : off+filesz]
		if typ == ptNote {
			if entry, ok := pvhEntry(body); ok {
				im.Entry, found = entry, true
			}
			continue
		}
		if memsz < filesz || memsz > maxKernelBytes || paddr > maxKernelBytes {
			return nil, fmt.Errorf("%w: segment %d at %#x: %d bytes in the file, %d in memory", ErrNotPVH, i, paddr, filesz, memsz)
		}
		im.Segments = append(im.Segments, LoadSegment{Addr: paddr, Data: body, MemSize: memsz})
		im.End = max(im.End, paddr+memsz)
	}
	if len(im.Segments) == 0 {
		return nil, fmt.Errorf("%w: no loadable segments", ErrNotPVH)
	}
	if !found {
		return nil, fmt.Errorf("%w: no XEN_ELFNOTE_PHYS32_ENTRY note (build the kernel with CONFIG_PVH)", ErrNotPVH)
	}
	return im, nil
}

// pvhEntry finds the PVH entry note ("Xen", type 18) among notes.
func pvhEntry(notes []byte) (uint32, bool) {
	le := binary.LittleEndian
	align4 := func(n uint64) uint64 { return (n + 3) &^ 3 }
	for len(notes) >= 12 {
		namesz, descsz, typ := uint64(le.Uint32(notes)), uint64(le.Uint32(notes[4:])), le.Uint32(notes[8:])
		rest := uint64(len(notes)) - 12
		if align4(namesz) > rest || align4(descsz) > rest-align4(namesz) {
			return 0, false
		}
		name := notes[12 : 12+namesz]
		desc := notes[12+align4(namesz):][:descsz]
		if typ == xenNotePhys32 && string(name) == "Xen\x00" && descsz >= 4 {
			return le.Uint32(desc), true
		}
		notes = notes[12+align4(namesz)+align4(descsz):]
	}
	return 0, false
}
