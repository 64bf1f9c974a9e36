package i8042

import "testing"

func TestReset(t *testing.T) {
	n := 0
	c := New(func() { n++ })
	c.Write(offData, []byte{cmdReset}) // the data port does not reset
	c.Write(offCommand, []byte{0xaa})
	if n != 0 {
		t.Fatal("reset on a non-reset write")
	}
	c.Write(offCommand, []byte{cmdReset})
	c.Write(offCommand, []byte{cmdReset})
	if n != 1 {
		t.Fatalf("resets %d, want 1", n)
	}
	b := []byte{0xff}
	c.Read(offCommand, b)
	c.Write(offCommand, nil)
	if b[0] != 0 {
		t.Fatal("status not empty")
	}
}
