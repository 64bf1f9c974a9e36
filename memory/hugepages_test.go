package memory

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"unsafe"
)

// vmFlags returns the VmFlags line of the mapping that starts at addr.
func vmFlags(t *testing.T, addr uintptr) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Skipf("no smaps: %v", err)
	}
	start := fmt.Sprintf("%x-", addr)
	in := false
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, start) {
			in = true
		}
		if in && strings.HasPrefix(l, "VmFlags:") {
			return l
		}
	}
	t.Fatalf("mapping at %#x not in smaps", addr)
	return ""
}

func TestSetHugePages(t *testing.T) {
	g, err := Map(Span{Base: 0, Size: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	addr := uintptr(unsafe.Pointer(&g.Regions()[0].Data[0]))
	for _, c := range []struct {
		p    HugePages
		flag string
	}{{HugePagesOff, " nh"}, {HugePagesOn, " hg"}} {
		if err := g.SetHugePages(c.p); err != nil {
			t.Fatal(err)
		}
		if f := vmFlags(t, addr); !strings.Contains(f+" ", c.flag+" ") {
			t.Errorf("policy %d: %s lacks%s", c.p, f, c.flag)
		}
	}
	if err := g.SetHugePages(HugePages(9)); err == nil {
		t.Error("an unknown policy was accepted")
	}
}
