package memory

import (
	"fmt"
	"os"
	"strings"
	"testing"
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
	addr := g.Regions()[0].hostAddr()
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

// Guest RAM offered to KSM carries the mergeable flag; a host kernel
// without KSM refuses it with an error.
func TestSetMergeable(t *testing.T) {
	g, err := Map(Span{Base: 0, Size: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if _, err := os.Stat("/sys/kernel/mm/ksm"); err != nil {
		if g.SetMergeable() == nil {
			t.Error("a host without KSM took MADV_MERGEABLE")
		}
		return
	}
	if err := g.SetMergeable(); err != nil {
		t.Fatal(err)
	}
	if f := vmFlags(t, g.Regions()[0].hostAddr()); !strings.Contains(f+" ", " mg ") {
		t.Errorf("guest RAM marked mergeable: flags %s lack mg", f)
	}
}

// KVM backs guest memory with 2 MiB nested pages only where the host
// address is congruent to the guest address modulo 2 MiB; an unaligned
// mapping cost the lab boot 18,000 nested page faults.
func TestMapPlacesGuestForHugePages(t *testing.T) {
	for _, base := range []uint64{0, 0x100000, 0x201000, 1 << 32} {
		g, err := Map(Span{Base: base, Size: 6 << 20})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := uint64(g.Regions()[0].hostAddr())%hugePage, base%hugePage; got != want {
			t.Errorf("guest %#x: host address %#x is %#x into its 2 MiB page, want %#x", base, g.Regions()[0].hostAddr(), got, want)
		}
		r := g.Regions()[0]
		r.Data[0], r.Data[len(r.Data)-1] = 1, 2 // both ends are mapped
		if err := g.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// The 2 MiB of slack mapped for alignment is unmapped again: mapping and
// closing guest memory many times leaves the address space as it was.
func TestMapLeavesNoSlack(t *testing.T) {
	before := vmSize(t)
	for i := 0; i < 200; i++ {
		g, err := Map(Span{Base: 0, Size: 8 << 20})
		if err != nil {
			t.Fatal(err)
		}
		if err := g.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if grown := vmSize(t) - before; grown > 64<<10 { // KiB: 200 leaked slacks would be 400 MiB
		t.Errorf("address space grew by %d KiB over 200 map/close cycles", grown)
	}
}

// vmSize is this process's VmSize in KiB.
func vmSize(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status: %v", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		var kb int
		if n, _ := fmt.Sscanf(l, "VmSize: %d kB", &kb); n == 1 {
			return kb
		}
	}
	t.Fatal("no VmSize in /proc/self/status")
	return 0
}
