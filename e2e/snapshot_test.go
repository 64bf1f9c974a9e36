package e2e

import "testing"

// A snapshot taken while the guest printed "ACKED 22" splits the line
// between the cold VM's console and the restored one's: read as one,
// record 22 follows 21; read apart, the restored guest seems to skip it.
func TestNextAckedAcrossASplitLine(t *testing.T) {
	cold, restored := "ACKED 20\nACKED 21\nACK", "ED 22\r\nACKED 23\n"
	if got := nextAcked(ackedRecords(cold+restored), 21); got != 22 {
		t.Errorf("joined: after 21 came %d, want 22", got)
	}
	if got := ackedRecords(restored); len(got) != 1 || got[0] != 23 {
		t.Errorf("the restored console alone lists %v, want [23]", got)
	}
	if got := nextAcked(ackedRecords("ACKED 1\nACKED 3\n"), 1); got != 3 {
		t.Errorf("a skipped record: after 1 came %d, want 3", got)
	}
	if got := nextAcked(ackedRecords("ACKED 1\n"), 1); got != 0 {
		t.Errorf("nothing after the last record: got %d, want 0", got)
	}
}
