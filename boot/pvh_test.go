package boot

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

type testSeg struct {
	typ   uint32
	addr  uint64
	data  []byte
	memsz uint64
}

// makeELF builds a minimal x86-64 ELF executable with the given segments.
func makeELF(segs ...testSeg) []byte {
	le := binary.LittleEndian
	phoff := uint64(elfHeaderSize)
	off := phoff + uint64(len(segs))*elfPhdrSize
	b := make([]byte, off)
	copy(b, "\x7fELF")
	b[4], b[5], b[6] = elfClass64, elfLittle, 1
	le.PutUint16(b[16:], elfTypeExec)
	le.PutUint16(b[18:], elfMachineX64)
	le.PutUint64(b[32:], phoff)
	le.PutUint16(b[52:], elfHeaderSize)
	le.PutUint16(b[54:], elfPhdrSize)
	le.PutUint16(b[56:], uint16(len(segs)))
	for i, s := range segs {
		ph := b[phoff+uint64(i)*elfPhdrSize:]
		le.PutUint32(ph, s.typ)
		le.PutUint64(ph[8:], uint64(len(b)))
		le.PutUint64(ph[16:], s.addr|0xffffffff80000000) // vaddr: the kernel's high mapping
		le.PutUint64(ph[24:], s.addr)
		le.PutUint64(ph[32:], uint64(len(s.data)))
		le.PutUint64(ph[40:], max(s.memsz, uint64(len(s.data))))
		b = append(b, s.data...)
	}
	return b
}

// note builds one ELF note.
func note(name string, typ uint32, desc []byte) []byte {
	le := binary.LittleEndian
	pad := func(b []byte) []byte { return append(b, make([]byte, (4-len(b)%4)%4)...) }
	var b []byte
	b = le.AppendUint32(b, uint32(len(name)+1))
	b = le.AppendUint32(b, uint32(len(desc)))
	b = le.AppendUint32(b, typ)
	b = append(b, pad(append([]byte(name), 0))...)
	return append(b, pad(desc)...)
}

func pvhKernel() []byte {
	notes := append(note("GNU", 3, []byte{1, 2, 3, 4, 5}), note("Xen", xenNotePhys32, []byte{0x40, 0x12, 0x00, 0x01})...)
	return makeELF(
		testSeg{typ: ptLoad, addr: 0x1000000, data: []byte("kernel text"), memsz: 0x200000},
		testSeg{typ: ptNote, data: notes},
		testSeg{typ: ptLoad, addr: 0x1200000, data: []byte("data"), memsz: 0x1000},
	)
}

func TestPVHLayout(t *testing.T) {
	kernel := pvhKernel()
	im, err := ParseELF(kernel)
	if err != nil {
		t.Fatal(err)
	}
	if im.Entry != 0x01001240 || len(im.Segments) != 2 || im.End != 0x1201000 {
		t.Fatalf("image %+v", im)
	}
	p, err := Load(kernel, Config{RAM: RAMRanges(256 << 20), Cmdline: "console=ttyS0", InitrdSize: 5000, RSDPAddr: 0xe0000})
	if err != nil {
		t.Fatal(err)
	}
	e := p.Entry
	if e.RIP != 0x01001240 || e.RBX != StartInfoAddr || e.CR0&cr0PG != 0 || e.CR0&cr0PE == 0 || e.CR4 != 0 || e.EFER != 0 {
		t.Errorf("entry state %+v: want 32-bit protected mode without paging, EBX at start_info", e)
	}
	// The limit KVM takes is in bytes: 4 GiB. (0xfffff, the descriptor's
	// page count, made the first instruction above 1 MiB fault: the lab's
	// first PVH boot triple-faulted at once.)
	if e.Code.L || !e.Code.DB || e.Code.Limit != 0xffffffff || !e.Code.G || e.Code.Base != 0 || e.Code.Type != 0xb {
		t.Errorf("code segment %+v: want flat 32-bit", e.Code)
	}
	if e.Data.Limit != 0xffffffff || e.TSS.Type != 0xb || e.TSS.Limit != 0x67 {
		t.Errorf("TSS %+v: want a busy 32-bit TSS", e.TSS)
	}
	mem := map[uint64][]byte{}
	for _, c := range p.Chunks {
		mem[c.Addr] = c.Data
	}
	if !bytes.Equal(mem[0x1000000], []byte("kernel text")) || !bytes.Equal(mem[0x1200000], []byte("data")) {
		t.Error("segments not at their physical addresses")
	}
	if !bytes.Equal(mem[CmdlineAddr], []byte("console=ttyS0\x00")) {
		t.Errorf("command line %q", mem[CmdlineAddr])
	}
	si := mem[StartInfoAddr]
	le := binary.LittleEndian
	if le.Uint32(si) != startInfoMagic || le.Uint32(si[4:]) != 1 || le.Uint32(si[12:]) != 1 {
		t.Fatalf("start_info header % x", si[:16])
	}
	if le.Uint64(si[24:]) != CmdlineAddr || le.Uint64(si[32:]) != 0xe0000 || le.Uint64(si[40:]) != memmapAddr {
		t.Errorf("start_info pointers % x", si[16:48])
	}
	mod := si[le.Uint64(si[16:])-StartInfoAddr:]
	if le.Uint64(mod) != p.InitrdAddr || le.Uint64(mod[8:]) != 5000 || p.InitrdAddr < im.End || p.InitrdAddr%4096 != 0 {
		t.Errorf("initrd module at %#x+%d, plan's initrd at %#x", le.Uint64(mod), le.Uint64(mod[8:]), p.InitrdAddr)
	}
	n := int(le.Uint32(si[48:]))
	if n != len(p.E820) || n != 3 {
		t.Fatalf("%d memory map entries, e820 has %d", n, len(p.E820))
	}
	for i, want := range p.E820 {
		m := si[memmapAddr-StartInfoAddr+memmapEntrySize*i:]
		if got := (E820Entry{le.Uint64(m), le.Uint64(m[8:]), le.Uint32(m[16:])}); got != want {
			t.Errorf("memmap[%d] = %+v, want %+v", i, got, want)
		}
	}
}

func TestPVHErrors(t *testing.T) {
	good := pvhKernel()
	noNote := makeELF(testSeg{typ: ptLoad, addr: 0x1000000, data: []byte("x")})
	low := makeELF(testSeg{typ: ptLoad, addr: 0x1000, data: []byte("x")}, testSeg{typ: ptNote, data: note("Xen", xenNotePhys32, []byte{1, 0, 0, 0})})
	huge := makeELF(testSeg{typ: ptLoad, addr: 0x1000000, data: []byte("x"), memsz: 200 << 20}, testSeg{typ: ptNote, data: note("Xen", xenNotePhys32, []byte{1, 0, 0, 0})})
	ram := RAMRanges(64 << 20)
	for _, c := range []struct {
		name   string
		kernel []byte
		cfg    Config
		want   string
	}{
		{"truncated", good[:100], Config{RAM: ram}, "past the end"},
		{"no PVH note", noNote, Config{RAM: ram}, "CONFIG_PVH"},
		{"32-bit", append(append([]byte{}, good[:4]...), append([]byte{1}, good[5:]...)...), Config{RAM: ram}, "64-bit"},
		{"below 1 MiB", low, Config{RAM: ram}, "below 1 MiB"},
		{"too big", huge, Config{RAM: ram}, "not enough memory"},
		{"initrd too big", good, Config{RAM: ram, InitrdSize: 60 << 20}, "initrd"},
		{"NUL in cmdline", good, Config{RAM: ram, Cmdline: "a\x00b"}, "NUL"},
	} {
		_, err := Load(c.kernel, c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error containing %q", c.name, err, c.want)
		}
	}
	if _, err := Load(noNote, Config{RAM: ram}); !errors.Is(err, ErrNotPVH) {
		t.Errorf("an ELF file without the note: %v, want ErrNotPVH", err)
	}
}

// A guest's kernel file is untrusted input: any bytes give a plan or an
// error, never a panic, and a plan only places data inside guest RAM.
func FuzzLoadPVH(f *testing.F) {
	f.Add(pvhKernel())
	f.Add(makeELF(testSeg{typ: ptNote, data: note("Xen", xenNotePhys32, []byte{1})}))
	f.Fuzz(func(t *testing.T, kernel []byte) {
		ram := RAMRanges(64 << 20)
		p, err := Load(kernel, Config{RAM: ram, Cmdline: "console=ttyS0", InitrdSize: 4096})
		if err != nil {
			return
		}
		for _, c := range p.Chunks {
			if c.Addr+uint64(len(c.Data)) > ram[0].End() {
				t.Fatalf("chunk at %#x+%d is outside %d MiB of RAM", c.Addr, len(c.Data), ram[0].End()>>20)
			}
		}
	})
}
