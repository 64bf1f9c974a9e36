package memory

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// mapsLines returns /proc/self/maps, one mapping per line.
func mapsLines(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatalf("read /proc/self/maps: %v", err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

// anonNamesWork reports whether this kernel names anonymous mappings
// (CONFIG_ANON_VMA_NAME), tried on a scratch mapping.
func anonNamesWork(t *testing.T) bool {
	t.Helper()
	b, err := unix.Mmap(-1, 0, pageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(b)
	return unix.Prctl(unix.PR_SET_VMA, unix.PR_SET_VMA_ANON_NAME, uintptr(Region{Data: b}.hostAddr()), pageSize, uintptr(0)) == nil
}

// Guest RAM has an inaccessible page on either side, so a run past its
// end faults instead of reaching the Go heap, and the kernel never merges
// it with a neighbouring anonymous mapping: vmm bench tells guest RAM from
// vmm's own memory by its mapping (which once held 3.5 MiB of Go heap).
func TestGuestRAMHasGuardsAndName(t *testing.T) {
	g, err := Map(Span{Base: 0x100000, Size: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	start := g.Regions()[0].hostAddr()
	end := start + 4<<20
	lines := mapsLines(t)
	self := fmt.Sprintf("%x-%x ", start, end)
	for i, l := range lines {
		if !strings.HasPrefix(l, self) {
			continue
		}
		if i == 0 || i == len(lines)-1 {
			t.Fatalf("guest RAM is the first or last mapping:\n%s", strings.Join(lines, "\n"))
		}
		below, above := lines[i-1], lines[i+1]
		if want := fmt.Sprintf("%x-%x ---p ", start-pageSize, start); !strings.HasPrefix(below, want) {
			t.Errorf("below guest RAM: %q, want a guard page %q", below, want)
		}
		if want := fmt.Sprintf("%x-%x ---p ", end, end+pageSize); !strings.HasPrefix(above, want) {
			t.Errorf("above guest RAM: %q, want a guard page %q", above, want)
		}
		if anonNamesWork(t) && !strings.HasSuffix(l, "[anon:"+guestRAMName+"]") {
			t.Errorf("guest RAM is not named on a kernel that names mappings: %q", l)
		}
		return
	}
	t.Fatalf("no mapping %q in /proc/self/maps", self)
}
