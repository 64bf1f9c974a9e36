package meminfo

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	i, err := Parse([]byte("MemTotal:       24000000 kB\nHugePages_Total:       0\nSlab:             300000 kB\n"))
	if err != nil || i["MemTotal"] != 24000000<<10 || i["Slab"] != 300000<<10 || i["HugePages_Total"] != 0 || len(i) != 3 {
		t.Fatalf("%v %v", i, err)
	}
	if _, err := i.Need("Slab", "PageTables"); err == nil || !strings.Contains(err.Error(), "PageTables") {
		t.Errorf("a missing field: %v", err)
	}
	for _, bad := range []string{"no colon 1 kB\n", "Slab: x kB\n", "Slab: 1 MB\n", "Slab:\n"} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	if h, err := Read(Path); err != nil || h["MemTotal"] <= 0 {
		t.Errorf("this host's meminfo: %v %v", h["MemTotal"], err)
	}
}

// FuzzParse: no text panics the parser.
func FuzzParse(f *testing.F) {
	f.Add([]byte("MemTotal: 1 kB\nHugePages_Free: 0\n"))
	f.Fuzz(func(t *testing.T, b []byte) { Parse(b) })
}
