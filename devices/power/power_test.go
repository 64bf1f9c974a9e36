package power

import (
	"encoding/binary"
	"testing"
)

func w16(d *Device, off uint64, v uint16) {
	b := make([]byte, 2)
	binary.LittleEndian.PutUint16(b, v)
	d.Write(off, b)
}

func r16(d *Device, off uint64) uint16 {
	b := make([]byte, 2)
	d.Read(off, b)
	return binary.LittleEndian.Uint16(b)
}

func TestPowerOffAndReset(t *testing.T) {
	var off, reset int
	d := New(5, 1, func() { off++ }, func() { reset++ })
	if r16(d, offControl)&sciEn == 0 || r16(d, offStatus) != 0 {
		t.Fatal("SCI_EN not set or status not clear")
	}
	w16(d, offEnable, 0x0100)
	if r16(d, offEnable) != 0x0100 {
		t.Fatal("enable register not kept")
	}
	w16(d, offControl, 5<<10)       // SLP_TYP without SLP_EN: the first of Linux's two writes
	w16(d, offControl, 3<<10|slpEn) // another sleep state
	d.Write(offReset, []byte{2})
	if off+reset != 0 {
		t.Fatal("spurious event")
	}
	w16(d, offControl, 5<<10|slpEn)
	d.Write(offReset, []byte{1}) // only the first event counts
	if off != 1 || reset != 0 {
		t.Fatalf("off %d reset %d", off, reset)
	}
	d2 := New(5, 1, func() { off++ }, func() { reset++ })
	d2.Write(offReset, []byte{1})
	if reset != 1 {
		t.Fatal("reset not reported")
	}
	d2.Read(0, make([]byte, 4))
	d2.Write(0, nil)
	d2.Write(offControl, []byte{0x01}) // a 1-byte write must not panic
}
