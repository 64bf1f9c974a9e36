package power

import "testing"

func TestPowerOffAndReset(t *testing.T) {
	var off, reset int
	d := New(5, 1, func() { off++ }, func() { reset++ })
	d.Write(offSleepControl, []byte{5 << 2}) // SLP_TYP without SLP_EN
	d.Write(offSleepControl, []byte{3<<2 | slpEn})
	d.Write(offReset, []byte{2})
	if off+reset != 0 {
		t.Fatal("spurious event")
	}
	d.Write(offSleepControl, []byte{5<<2 | slpEn})
	d.Write(offReset, []byte{1}) // only the first event counts
	if off != 1 || reset != 0 {
		t.Fatalf("off %d reset %d", off, reset)
	}
	d2 := New(5, 1, func() { off++ }, func() { reset++ })
	d2.Write(offReset, []byte{1})
	if reset != 1 {
		t.Fatal("reset not reported")
	}
	d2.Read(0, make([]byte, 2))
	d2.Write(0, nil)
}
