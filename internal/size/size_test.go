package size

import "testing"

func TestParse(t *testing.T) {
	good := map[string]uint64{"512M": 512 << 20, "1G": 1 << 30, "1.5G": 3 << 29, "1073741824": 1 << 30,
		"64k": 64 << 10, "2GiB": 2 << 30, "256MB": 256 << 20, " 1T ": 1 << 40, "0": 0}
	for in, want := range good {
		if got, err := Parse(in); err != nil || got != want {
			t.Errorf("Parse(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"12Q", "", "M", "1.2.3G", "-5M", "1.0000001K", "99999999999999999999", "20000000T", "1e9", "5 M B"} {
		if got, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) = %d, want an error", in, got)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("1.5G")
	f.Fuzz(func(t *testing.T, s string) { Parse(s) })
}
