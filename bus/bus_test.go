package bus

import (
	"bytes"
	"testing"
)

type recorder struct {
	reads, writes []uint64
	last          []byte
}

func (r *recorder) Read(off uint64, data []byte) {
	r.reads = append(r.reads, off)
	for i := range data {
		data[i] = byte(off) + byte(i)
	}
}

func (r *recorder) Write(off uint64, data []byte) {
	r.writes = append(r.writes, off)
	r.last = append([]byte(nil), data...)
}

func TestDispatchAndOffsets(t *testing.T) {
	var b Bus
	uart, rtc := &recorder{}, &recorder{}
	if err := b.Register("uart", 0x3f8, 8, uart); err != nil {
		t.Fatal(err)
	}
	if err := b.Register("rtc", 0x70, 2, rtc); err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 1)
	if !b.Read(0x3fd, data) || data[0] != 5 || uart.reads[0] != 5 {
		t.Fatalf("uart read: %v %v", data, uart.reads)
	}
	if !b.Write(0x71, []byte{0x42}) || rtc.writes[0] != 1 || !bytes.Equal(rtc.last, []byte{0x42}) {
		t.Fatalf("rtc write: %v %v", rtc.writes, rtc.last)
	}
	wide := make([]byte, 4)
	if b.Read(0x3fe, wide) || !bytes.Equal(wide, []byte{0xff, 0xff, 0xff, 0xff}) {
		t.Fatalf("access straddling the device end: %x", wide)
	}
	if b.Read(0x80, data) || data[0] != 0xff || b.Write(0x80, data) {
		t.Fatal("unmapped port")
	}
	if b.Unhandled() != 3 {
		t.Fatalf("unhandled = %d", b.Unhandled())
	}
}

func TestOverlaps(t *testing.T) {
	var b Bus
	d := &recorder{}
	if err := b.Register("a", 0x100, 0x10, d); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ base, size uint64 }{{0x100, 1}, {0xf8, 0x9}, {0x10f, 1}, {0x0, 0x1000}, {0x104, 2}} {
		if err := b.Register("b", c.base, c.size, d); err == nil {
			t.Errorf("overlap at %#x+%#x accepted", c.base, c.size)
		}
	}
	if err := b.Register("z", 0x50, 0, d); err == nil {
		t.Error("empty range accepted")
	}
	if err := b.Register("w", ^uint64(0)-1, 4, d); err == nil {
		t.Error("wrapping range accepted")
	}
	if err := b.Register("c", 0x110, 0x10, d); err != nil {
		t.Errorf("adjacent range refused: %v", err)
	}
	if err := b.Register("d", 0xf0, 0x10, d); err != nil {
		t.Errorf("adjacent range refused: %v", err)
	}
}

func FuzzBus(f *testing.F) {
	f.Add(uint64(0x3f8), uint8(1), true)
	f.Fuzz(func(t *testing.T, addr uint64, n uint8, write bool) {
		var b Bus
		b.Register("uart", 0x3f8, 8, &recorder{})
		b.Register("top", ^uint64(0)-7, 8, &recorder{})
		data := make([]byte, n%9)
		if write {
			b.Write(addr, data)
		} else {
			b.Read(addr, data)
		}
	})
}
