package initramfs

import (
	"bytes"
	"testing"
)

func TestReadNewcRoundTrip(t *testing.T) {
	var first, second bytes.Buffer
	if _, err := sample(t, false).WriteTo(&first); err != nil {
		t.Fatal(err)
	}
	var a Archive
	if err := ReadNewc(bytes.NewReader(first.Bytes()), &a); err != nil {
		t.Fatal(err)
	}
	if _, err := a.WriteTo(&second); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first.Bytes(), second.Bytes()) {
		t.Fatal("read + write changed the archive")
	}
}

func TestReadNewcRejects(t *testing.T) {
	var good bytes.Buffer
	sample(t, false).WriteTo(&good)
	b := good.Bytes()
	for name, in := range map[string][]byte{
		"empty":      nil,
		"truncated":  b[:len(b)/2],
		"bad magic":  append([]byte("070707"), b[6:]...),
		"no trailer": b[:len(b)-124],
	} {
		var a Archive
		if err := ReadNewc(bytes.NewReader(in), &a); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzReadNewc(f *testing.F) {
	var good bytes.Buffer
	var a Archive
	a.AddFile("x", 0o644, []byte("y"))
	a.WriteTo(&good)
	f.Add(good.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		var a Archive
		ReadNewc(bytes.NewReader(data), &a)
	})
}
