package acpi

import (
	"encoding/binary"
	"testing"
)

func sum(b []byte) (s byte) {
	for _, x := range b {
		s += x
	}
	return s
}

// tables walks RSDP -> XSDT -> each table, checking lengths and checksums.
func tables(t *testing.T, base uint64, b []byte) map[string][]byte {
	t.Helper()
	le := binary.LittleEndian
	at := func(addr uint64) []byte {
		if addr < base || addr-base >= uint64(len(b)) {
			t.Fatalf("pointer %#x outside the tables", addr)
		}
		return b[addr-base:]
	}
	r := b[:rsdpSize]
	if string(r[:8]) != "RSD PTR " || sum(r[:20]) != 0 || sum(r) != 0 || r[15] != 2 {
		t.Fatal("bad RSDP")
	}
	get := func(addr uint64) []byte {
		h := at(addr)
		n := le.Uint32(h[4:])
		if uint64(n) > uint64(len(h)) || n < headerSize {
			t.Fatalf("table at %#x: length %d", addr, n)
		}
		tb := h[:n]
		if sum(tb) != 0 {
			t.Fatalf("table %s: bad checksum", tb[:4])
		}
		return tb
	}
	out := map[string][]byte{}
	xsdt := get(le.Uint64(r[24:]))
	out["XSDT"] = xsdt
	for off := headerSize; off < len(xsdt); off += 8 {
		tb := get(le.Uint64(xsdt[off:]))
		out[string(tb[:4])] = tb
	}
	fadt := out["FACP"]
	if fadt == nil {
		t.Fatal("no FADT")
	}
	out["DSDT"] = get(le.Uint64(fadt[140:]))
	return out
}

func TestBuild(t *testing.T) {
	const base = 0xe0000
	b, err := Build(base, Config{CPUs: 2, IOAPICAddr: 0xfec00000, LAPICAddr: 0xfee00000, PMPort: 0x600, ResetPort: 0x606, ResetValue: 1, SCI: 9})
	if err != nil {
		t.Fatal(err)
	}
	tb := tables(t, base, b)
	le := binary.LittleEndian
	fadt := tb["FACP"]
	if len(fadt) != fadtSize || fadt[8] != 6 || le.Uint32(fadt[112:])&(1<<20) != 0 {
		t.Fatal("FADT is not a full (not hardware-reduced) revision-6 table")
	}
	if le.Uint32(fadt[56:]) != 0x600 || le.Uint32(fadt[64:]) != 0x604 || le.Uint64(fadt[172+4:]) != 0x604 || fadt[172+1] != 16 ||
		le.Uint64(fadt[116+4:]) != 0x606 || fadt[128] != 1 || le.Uint16(fadt[46:]) != 9 {
		t.Fatal("FADT PM1a/reset/SCI fields wrong")
	}
	if string(tb["DSDT"][headerSize:headerSize+5]) != "\x08_S5_" {
		t.Fatal("DSDT lacks _S5")
	}
	madt := tb["APIC"]
	var lapics, ioapics, overrides int
	for off := headerSize + 8; off < len(madt); off += int(madt[off+1]) {
		switch madt[off] {
		case 0:
			if madt[off+3] != byte(lapics) || le.Uint32(madt[off+4:]) != 1 {
				t.Fatalf("LAPIC entry %d: %x", lapics, madt[off:off+8])
			}
			lapics++
		case 2:
			overrides++
			if madt[off+3] != 9 || le.Uint32(madt[off+4:]) != 9 {
				t.Fatal("SCI override")
			}
		case 1:
			ioapics++
			if le.Uint32(madt[off+4:]) != 0xfec00000 {
				t.Fatal("IOAPIC address")
			}
		}
	}
	if lapics != 2 || ioapics != 1 || overrides != 1 {
		t.Fatalf("MADT: %d LAPICs, %d IOAPICs", lapics, ioapics)
	}
}

func TestBuildErrors(t *testing.T) {
	for _, c := range []Config{{CPUs: 0}, {CPUs: 256}} {
		if _, err := Build(0xe0000, c); err == nil {
			t.Errorf("%d CPUs accepted", c.CPUs)
		}
	}
	if _, err := Build(0xe0001, Config{CPUs: 1}); err == nil {
		t.Error("unaligned base accepted")
	}
}
