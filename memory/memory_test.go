package memory

import (
	"bytes"
	"errors"
	"math"
	"testing"
)

func TestMapReadWrite(t *testing.T) {
	g, err := Map(Span{Base: 0, Size: 2 * pageSize}, Span{Base: 1 << 20, Size: pageSize})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if g.Size() != 3*pageSize {
		t.Fatalf("Size = %d", g.Size())
	}
	want := []byte("hello guest")
	if err := g.Write(1<<20+100, want); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(want))
	if err := g.Read(1<<20+100, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("read %q, want %q", got, want)
	}
}

func TestOutOfRange(t *testing.T) {
	g, err := Wrap(Region{Base: 0x1000, Data: make([]byte, 0x1000)}, Region{Base: 0x3000, Data: make([]byte, 0x1000)})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		addr, n uint64
	}{
		{0, 1},                   // below the first region
		{0x1fff, 2},              // crosses the end of a region
		{0x2000, 1},              // in the hole
		{0x3fff, 2},              // past the end of RAM
		{0x1000, math.MaxUint64}, // huge length: no overflow
		{math.MaxUint64, 1},      // huge address
		{0x4000, 0},              // empty range at the end
	}
	for _, c := range cases {
		if _, err := g.Slice(c.addr, c.n); !errors.Is(err, ErrOutOfRange) {
			t.Errorf("Slice(%#x, %#x) = %v, want ErrOutOfRange", c.addr, c.n, err)
		}
	}
	if b, err := g.Slice(0x1fff, 1); err != nil || len(b) != 1 {
		t.Errorf("Slice(last byte) = %v, %v", len(b), err)
	}
}

func TestOverlapAndAlignment(t *testing.T) {
	if _, err := Wrap(Region{Base: 0, Data: make([]byte, 0x2000)}, Region{Base: 0x1000, Data: make([]byte, 1)}); err == nil {
		t.Error("overlapping regions accepted")
	}
	if _, err := Map(Span{Base: 1, Size: pageSize}); err == nil {
		t.Error("unaligned span accepted")
	}
	if _, err := Map(Span{Base: 0, Size: 0}); err == nil {
		t.Error("empty span accepted")
	}
}

func FuzzSlice(f *testing.F) {
	f.Add(uint64(0x1000), uint64(16))
	f.Add(uint64(0x2fff), uint64(2))
	f.Fuzz(func(t *testing.T, addr, n uint64) {
		g, err := Wrap(Region{Base: 0x1000, Data: make([]byte, 0x1000)}, Region{Base: 0x2800, Data: make([]byte, 0x800)})
		if err != nil {
			t.Fatal(err)
		}
		b, err := g.Slice(addr, n)
		if err == nil && uint64(len(b)) != n {
			t.Fatalf("Slice(%#x,%#x) returned %d bytes", addr, n, len(b))
		}
	})
}

func TestDiscard(t *testing.T) {
	g, err := Map(Span{Base: 0, Size: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if err := g.Write(0x3000, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if err := g.Discard(0x3000, 0x1000); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 5)
	if err := g.Read(0x3000, got); err != nil || string(got) != "\x00\x00\x00\x00\x00" {
		t.Fatalf("after discard: %q, %v", got, err)
	}
	for _, c := range []struct{ addr, n uint64 }{{0x3001, 0x1000}, {0x3000, 0x10}, {1 << 20, 0x1000}, {0xff000, 0x2000}} {
		if err := g.Discard(c.addr, c.n); err == nil {
			t.Errorf("discard %#x+%#x accepted", c.addr, c.n)
		}
	}
}
