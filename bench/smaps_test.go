package bench

import (
	"strings"
	"testing"

	"github.com/vmmlab/vmm/bench/results"
)

const smapsText = `00400000-00800000 r-xp 00000000 08:01 123 /lab/vmm
Size:               4096 kB
Rss:                2048 kB
Pss:                1024 kB
Anonymous:             0 kB
AnonHugePages:         0 kB
7f0000000000-7f0010000000 rw-p 00000000 00:00 0 
Size:             262144 kB
Rss:               30000 kB
Pss:               30000 kB
Anonymous:         30000 kB
AnonHugePages:     20480 kB
7f0020000000-7f0020100000 rw-p 00000000 00:00 0 [heap]
Size:               1024 kB
Rss:                 512 kB
Pss:                 512 kB
Anonymous:           512 kB
VmFlags: rd wr mr mw me ac
`

func TestParseSmapsAndSplitGuest(t *testing.T) {
	ms, err := parseSmaps(strings.NewReader(smapsText))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 3 || ms[0].Name != "/lab/vmm" || ms[1].Name != "[anon]" || ms[2].Name != "[heap]" {
		t.Fatalf("mappings %+v", ms)
	}
	if ms[1].Size != 256<<20 || ms[1].Rss != 30000<<10 || ms[1].AnonHuge != 20<<20 {
		t.Fatalf("guest mapping %+v", ms[1])
	}
	guest, own := SplitGuest(ms, 256<<20)
	if len(guest) != 1 || len(own) != 2 {
		t.Fatalf("split %d/%d", len(guest), len(own))
	}
	if s := Sum(own); s.Rss != (2048+512)<<10 || s.Pss != (1024+512)<<10 {
		t.Fatalf("own %+v", s)
	}
	if g := ByName(ms); g[0].Name != "[anon]" || g[2].Name != "[heap]" {
		t.Fatalf("by name %+v", g)
	}
}

func TestParseSmapsIgnoresGarbage(t *testing.T) {
	ms, err := parseSmaps(strings.NewReader("Rss: 5 kB\nnot a header\n1-2 r 0 0 0\nRss: x kB\n"))
	if err != nil || len(ms) != 1 || ms[0].Rss != 0 {
		t.Fatalf("%+v %v", ms, err)
	}
}

// A guest RAM mapping that vmm named counts as guest RAM whatever its
// size (RAM above 4 GiB is split in two, each part smaller than the whole).
func TestSplitGuestByName(t *testing.T) {
	ms := []results.Mapping{{Name: "[anon:vmm-guest-ram]", Size: 64 << 20}, {Name: "[anon:vmm-guest-ram]", Size: 192 << 20}, {Name: "[anon]", Size: 8 << 20}}
	guest, own := SplitGuest(ms, 256<<20)
	if len(guest) != 2 || len(own) != 1 || own[0].Name != "[anon]" {
		t.Fatalf("guest %+v, own %+v", guest, own)
	}
}
