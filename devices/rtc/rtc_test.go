package rtc

import (
	"testing"
	"time"
)

func TestClock(t *testing.T) {
	c := New(func() time.Time { return time.Date(2026, 11, 23, 13, 45, 59, 0, time.UTC) })
	get := func(i byte) byte {
		c.Write(0, []byte{i | 0x80}) // NMI-disable bit set, as Linux does
		b := []byte{0}
		c.Read(1, b)
		return b[0]
	}
	want := map[byte]byte{regSeconds: 0x59, regMinutes: 0x45, regHours: 0x13, regDay: 0x23, regMonth: 0x11,
		regYear: 0x26, regCentury: 0x20, regWeekday: 0x02, regA: 0x26, regD: 0x80}
	for reg, v := range want {
		if got := get(reg); got != v {
			t.Errorf("register %#x = %#x, want %#x", reg, got, v)
		}
	}
	c.Write(0, []byte{0x40})
	c.Write(1, []byte{0x99})
	if get(0x40) != 0x99 {
		t.Error("CMOS RAM not stored")
	}
	c.Write(0, []byte{regSeconds})
	c.Write(1, []byte{0x00})
	if get(regSeconds) != 0x59 {
		t.Error("time write not ignored")
	}
	c.Read(1, nil)
	c.Write(1, nil)
}

// CMOS RAM and the index survive a snapshot.
func TestStateRoundTrip(t *testing.T) {
	c := New(nil)
	c.Write(0, []byte{0x40})
	c.Write(1, []byte{0x99})
	c.Write(0, []byte{0x41})
	d := New(nil)
	d.Restore(c.State())
	d.Write(0, []byte{0x40})
	b := []byte{0}
	d.Read(1, b)
	if b[0] != 0x99 || d.State().Index != 0x40 {
		t.Fatalf("restored CMOS byte %#x index %#x", b[0], d.State().Index)
	}
}
