package report

import (
	"strings"
	"testing"

	"github.com/vmmlab/vmm/bench/results"
)

func TestGuestMemoryTable(t *testing.T) {
	r := &results.Results{Memory: []results.MemorySample{
		{Target: "vm", GuestConfigured: 256 << 20, GuestMeminfo: map[string]uint64{"MemTotal": 240 << 10, "MemFree": 210 << 10, "Cached": 10 << 10,
			"Shmem": 2 << 10, "AnonPages": 3 << 10, "Slab": 6 << 10, "KernelStack": 1 << 10, "PageTables": 1 << 10,
			"slab:dentry": 2 << 10, "slab:inode_cache": 3 << 10, "slab:kmalloc-1k": 1 << 10, "slab:x": 1}},
		{Target: "crun"},
	}}
	blocks := guestMemory(r)
	if len(blocks) != 2 {
		t.Fatalf("blocks %v", blocks)
	}
	tab := blocks[1].(Table)
	row := make([]string, len(tab.Rows[0]))
	for i, c := range tab.Rows[0] {
		row[i] = string(c)
	}
	got := strings.Join(row, " | ")
	want := "vm | 256.0 MiB | 16.0 MiB | 30.0 MiB | 10.0 MiB | 2.0 MiB | 3.0 MiB | 6.0 MiB | 2.0 MiB | inode_cache 3.0 MiB, dentry 2.0 MiB, kmalloc-1k 1.0 MiB"
	if len(tab.Rows) != 1 || got != want {
		t.Errorf("row %q\nwant %q", got, want)
	}
	if guestMemory(&results.Results{Memory: []results.MemorySample{{Target: "crun"}}}) != nil {
		t.Error("a run without guest reports got a table")
	}
}
