package exitstatus

import "testing"

func TestStatus(t *testing.T) {
	var s Status
	if _, ok := s.Get(); ok {
		t.Fatal("status before any write")
	}
	s.Write(1, []byte{9}) // wrong offset
	s.Write(0, nil)
	s.Write(0, []byte{3})
	if c, ok := s.Get(); !ok || c != 3 {
		t.Fatalf("status %d %v", c, ok)
	}
	s.Read(0, make([]byte, 1))
}
