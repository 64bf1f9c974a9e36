package boot

import (
	"encoding/binary"
	"errors"
	"os"
	"strings"
	"testing"
)

// testdata/debian-6.1-head.bin is the setup area of Debian's
// vmlinuz-6.1.0-56-amd64 plus the first 4 KiB of its payload.
func debianHead(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/debian-6.1-head.bin")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseDebianHeader(t *testing.T) {
	im, err := ParseBzImage(debianHead(t))
	if err != nil {
		t.Fatal(err)
	}
	if im.Protocol != 0x020f || im.SetupSize != 40*512 || !im.Relocatable || !im.InitrdAbove4G {
		t.Fatalf("header: %+v", im)
	}
	if im.CmdlineMax != 2047 || im.PrefAddress != 0x1000000 || im.Alignment != 0x200000 || im.InitSize < 16<<20 {
		t.Fatalf("header: cmdline max %d pref %#x align %#x init size %#x", im.CmdlineMax, im.PrefAddress, im.Alignment, im.InitSize)
	}
	if len(im.Kernel) != 4096 {
		t.Fatalf("kernel payload %d bytes", len(im.Kernel))
	}
}

func TestParseRejects(t *testing.T) {
	good := debianHead(t)
	mut := func(f func(b []byte)) []byte {
		b := append([]byte(nil), good...)
		f(b)
		return b
	}
	cases := map[string][]byte{
		"empty":          nil,
		"short":          good[:0x250],
		"no magic":       mut(func(b []byte) { copy(b[hdrMagic:], "XXXX") }),
		"no boot flag":   mut(func(b []byte) { b[hdrBootFlag] = 0 }),
		"old protocol":   mut(func(b []byte) { binary.LittleEndian.PutUint16(b[hdrVersion:], 0x0204) }),
		"not 64-bit":     mut(func(b []byte) { b[hdrXloadflags] &^= xlfKernel64 }),
		"zImage":         mut(func(b []byte) { b[hdrLoadflags] &^= loadedHigh }),
		"setup too big":  mut(func(b []byte) { b[hdrSetupSects] = 0xff }),
		"header too big": mut(func(b []byte) { b[hdrJump+1] = 0xff }),
		"ELF":            append([]byte("\x7fELF"), make([]byte, 4096)...),
	}
	for name, b := range cases {
		if _, err := ParseBzImage(b); !errors.Is(err, ErrNotBzImage) {
			t.Errorf("%s: err = %v, want ErrNotBzImage", name, err)
		}
	}
}

func FuzzParseBzImage(f *testing.F) {
	f.Add(debianHead(f))
	f.Add([]byte("HdrS"))
	f.Fuzz(func(t *testing.T, data []byte) {
		im, err := ParseBzImage(data)
		if err != nil {
			return
		}
		// Whatever parses must lay out without panicking.
		Layout(im, Config{RAM: RAMRanges(256 << 20), Cmdline: "console=ttyS0", InitrdSize: 1 << 20})
	})
}

func TestLayout(t *testing.T) {
	im, err := ParseBzImage(debianHead(t))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Layout(im, Config{RAM: RAMRanges(512 << 20), Cmdline: "console=ttyS0 quiet", InitrdSize: 5<<20 + 123, RSDPAddr: 0xe0000})
	if err != nil {
		t.Fatal(err)
	}
	if p.InitrdAddr%4096 != 0 || p.InitrdAddr+5<<20+123 > 512<<20 || p.InitrdAddr < KernelAddr+uint64(im.InitSize) {
		t.Fatalf("initrd at %#x", p.InitrdAddr)
	}
	chunks := map[uint64][]byte{}
	for _, c := range p.Chunks {
		chunks[c.Addr] = c.Data
	}
	zp := chunks[ZeroPageAddr]
	le := binary.LittleEndian
	if string(zp[hdrMagic:hdrMagic+4]) != "HdrS" || zp[hdrTypeOfLoader] != 0xff {
		t.Fatal("setup header not copied into the zero page")
	}
	if le.Uint32(zp[hdrCmdLinePtr:]) != CmdlineAddr || le.Uint32(zp[hdrRamdiskImage:]) != uint32(p.InitrdAddr) ||
		le.Uint32(zp[hdrRamdiskSize:]) != 5<<20+123 || le.Uint64(zp[zpACPIRSDP:]) != 0xe0000 {
		t.Fatal("zero page pointers wrong")
	}
	if zp[zpE820Count] != 3 || le.Uint64(zp[zpE820Table+2*20+8:]) != 511<<20 {
		t.Fatalf("e820: %d entries %+v", zp[zpE820Count], p.E820)
	}
	if string(chunks[CmdlineAddr]) != "console=ttyS0 quiet\x00" {
		t.Fatalf("cmdline %q", chunks[CmdlineAddr])
	}
	pt := chunks[PML4Addr]
	// 3 GiB + 4 MiB is mapped by the fourth page directory, entry 2.
	if le.Uint64(pt[2*4096+8*(3*512+2):]) != (3<<30+4<<20)|0x83 || le.Uint64(pt) != (PML4Addr+4096)|3 {
		t.Fatal("identity page tables wrong")
	}
	e := p.Entry
	if e.RIP != KernelAddr+0x200 || e.RSI != ZeroPageAddr || e.Code.Selector != 0x10 || !e.Code.L || e.Code.Type != 0xb ||
		e.Data.Selector != 0x18 || !e.Data.DB || e.Data.Type != 3 || e.EFER&eferLMA == 0 || e.TSS.Type != 0xb {
		t.Fatalf("entry state %+v", e)
	}
}

func TestLayoutErrors(t *testing.T) {
	im, err := ParseBzImage(debianHead(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Layout(im, Config{RAM: RAMRanges(16 << 20)}); err == nil || !strings.Contains(err.Error(), "not enough memory") {
		t.Errorf("16 MiB: %v", err)
	}
	if _, err := Layout(im, Config{RAM: RAMRanges(128 << 20), InitrdSize: 120 << 20}); err == nil || !strings.Contains(err.Error(), "initrd") {
		t.Errorf("huge initrd: %v", err)
	}
	if _, err := Layout(im, Config{RAM: RAMRanges(64 << 20), Cmdline: strings.Repeat("x", 2048)}); err == nil {
		t.Error("over-long command line accepted")
	}
}

func TestRAMRangesAndE820(t *testing.T) {
	r := RAMRanges(4 << 30)
	if len(r) != 2 || r[0].End() != MMIOHoleStart || r[1].Start != 1<<32 || r[1].Size != 1<<30 {
		t.Fatalf("ranges %+v", r)
	}
	m := E820(r)
	if len(m) != 4 || m[1].Type != E820Reserved || m[3].Addr != 1<<32 {
		t.Fatalf("e820 %+v", m)
	}
}
