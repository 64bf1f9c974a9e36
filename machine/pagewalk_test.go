package machine

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

// fakeRAM is guest memory over a byte slice starting at guest address 0.
type fakeRAM []byte

func (f fakeRAM) Read(addr uint64, p []byte) error {
	if addr > uint64(len(f)) || uint64(len(p)) > uint64(len(f))-addr {
		return errors.New("outside")
	}
	copy(p, f[addr:])
	return nil
}

func (f fakeRAM) put(addr, v uint64) { binary.LittleEndian.PutUint64(f[addr:], v) }

const longMode = cr0PG | 1

func TestWalkPage(t *testing.T) {
	ram := make(fakeRAM, 64<<10)
	// va 0xffffffff81000123: PML4[511] -> PDPT[510] -> PD[8] -> PT[0].
	ram.put(0x1000+8*511, 0x2000|ptePresent)
	ram.put(0x2000+8*510, 0x3000|ptePresent)
	ram.put(0x3000+8*8, 0x4000|ptePresent)
	ram.put(0x4000, 0xabc000|ptePresent)
	// va 0xffffffffc0200000 (PDPT[511], PD[1]): a 2 MiB page.
	ram.put(0x2000+8*511, 0x5000|ptePresent)
	ram.put(0x5000+8*1, 0x4000_0000|ptePresent|pteLarge)
	// va 0x400000 (PML4[0]): a PDPT outside guest RAM.
	ram.put(0x1000, 0xb33b8000|ptePresent)
	// 5-level paging: PML5[511] -> the PML4 above.
	ram.put(0x6000+8*511, 0x1000|ptePresent)
	const cr4, efer = cr4PAE, eferLMA
	for _, c := range []struct {
		cr0, cr3, cr4, efer, va uint64
		want                    string
		outsideAt               int
	}{
		{longMode, 0x1000, cr4, efer, 0xffffffff81000123, "PT[0]=0xabc001 = physical 0xabc123", -1},
		{longMode, 0x1000, cr4, efer, 0xffffffffc0212345, "PD[1]=0x40000081 = physical 0x40012345", -1},
		{longMode, 0x1000, cr4, efer, 0x400000, "PDPT[0] at 0xb33b8000: outside guest RAM", 1},
		{longMode, 0x1000, cr4, efer, 0x7f0000000000, "PML4[254]=0x0 not present", -1},
		{longMode, 0xb33b8000, cr4, efer, 0xffffffff81000000, "PML4[511] at 0xb33b8ff8: outside guest RAM", 0},
		{1, 0, 0, 0, 0x1234, "paging off, physical 0x1234", -1},
		{longMode, 0x1000, 0, 0, 0x1234, "not in long mode", -1},
		{longMode, 0x6000, cr4 | cr4LA57, efer, 0xffffffff81000123, "PML5[511]=0x1001 -> PML4[511]=0x2001 -> PDPT[510]=0x3001 -> PD[8]=0x4001 -> PT[0]=0xabc001 = physical 0xabc123", -1},
		{longMode, 0x6000, cr4 | cr4LA57, efer, 0xffffffffc0212345, "PD[1]=0x40000081 = physical 0x40012345", -1},
		// the nested lab's stuck guest: a CR3 beyond 256 MiB of RAM
		{longMode, 0x957c8000, cr4 | cr4LA57, efer, 0xffffffffc065d20c, "PML5[511] at 0x957c8ff8: outside guest RAM", 0},
	} {
		got, outsideAt := walkPage(ram, c.cr0, c.cr3, c.cr4, c.efer, c.va)
		if !strings.Contains(got, c.want) || outsideAt != c.outsideAt {
			t.Errorf("walk of %#x with cr3 %#x: %q (outside at level %d), want it to contain %q (level %d)", c.va, c.cr3, got, outsideAt, c.want, c.outsideAt)
		}
	}
}

// FuzzWalkPage: whatever the guest's page tables hold, a walk ends in a
// line, never a panic or a loop.
func FuzzWalkPage(f *testing.F) {
	f.Add(make([]byte, 64), uint64(0), uint64(0xffffffff81000000), false)
	f.Add(make([]byte, 64), uint64(0), uint64(0xffffffff81000000), true)
	f.Fuzz(func(t *testing.T, ram []byte, cr3, va uint64, la57 bool) {
		cr4 := uint64(cr4PAE)
		if la57 {
			cr4 |= cr4LA57
		}
		if s, _ := walkPage(fakeRAM(ram), longMode, cr3, cr4, eferLMA, va); s == "" {
			t.Fatal("empty walk")
		}
	})
}
