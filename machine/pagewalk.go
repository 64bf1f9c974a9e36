package machine

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// Control register bits the walk needs.
const (
	cr0PG   = 1 << 31
	cr4PAE  = 1 << 5
	cr4LA57 = 1 << 12
	eferLMA = 1 << 10
)

// Page table entry bits.
const (
	ptePresent = 1 << 0
	pteLarge   = 1 << 7
	pteAddr    = 0x000f_ffff_ffff_f000 // bits 51:12
)

// guestReader is the guest memory a walk reads.
type guestReader interface {
	Read(addr uint64, p []byte) error
}

// walkPage explains how the guest's own page tables translate the virtual
// address va under cr3, the way the CPU walks them in long mode (4-level,
// or 5-level with CR4.LA57, as Debian's kernel runs where the CPU has it):
// one step per level with the entry read, ending in the guest-physical
// address, a non-present entry, or an entry vmm could not read (a table
// outside guest RAM). It is for crash and stop reports: a guest that
// loops on a fault shows here where its page tables lead. Guest memory is
// only read, never trusted: any value gives a line, not a panic.
//
// outsideAt is the level (0: the top table CR3 names) whose table lay
// outside guest RAM, or -1.
func walkPage(mem guestReader, cr0, cr3, cr4, efer, va uint64) (line string, outsideAt int) {
	var b strings.Builder
	fmt.Fprintf(&b, "%#x", va)
	switch {
	case cr0&cr0PG == 0:
		fmt.Fprintf(&b, ": paging off, physical %#x", va)
		return b.String(), -1
	case efer&eferLMA == 0 || cr4&cr4PAE == 0:
		b.WriteString(": not in long mode; not walked")
		return b.String(), -1
	}
	names := []string{"PML5", "PML4", "PDPT", "PD", "PT"}
	if cr4&cr4LA57 == 0 {
		names = names[1:]
	}
	table := cr3 & pteAddr
	fmt.Fprintf(&b, ": cr3 %#x", cr3)
	last := len(names) - 1
	for level, name := range names {
		shift := uint(12 + 9*(last-level))
		index := (va >> shift) & 0x1ff
		at := table + 8*index
		var e [8]byte
		if err := mem.Read(at, e[:]); err != nil {
			fmt.Fprintf(&b, " -> %s[%d] at %#x: outside guest RAM", name, index, at)
			return b.String(), level
		}
		entry := binary.LittleEndian.Uint64(e[:])
		fmt.Fprintf(&b, " -> %s[%d]=%#x", name, index, entry)
		if entry&ptePresent == 0 {
			b.WriteString(" not present")
			return b.String(), -1
		}
		// PDPT and PD entries may map a 1 GiB or 2 MiB page themselves
		if level == last || (last-level <= 2 && last-level >= 1 && entry&pteLarge != 0) {
			offsetMask := uint64(1)<<shift - 1
			fmt.Fprintf(&b, " = physical %#x", entry&pteAddr&^offsetMask|va&offsetMask)
			return b.String(), -1
		}
		table = entry & pteAddr
	}
	return b.String(), -1
}
