package tapns

import (
	"net"
	"net/netip"
	"testing"
)

// The tap is up in its own namespace with the host address, which the
// host's own namespace does not have; Close lets the name be used again.
// (Needs root, as CI has; elsewhere it fails and says why.)
func TestNew(t *testing.T) {
	addr := netip.MustParsePrefix("10.251.0.1/24")
	n, err := New("vmmtapns0", addr)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	n.NS.Do(func() error {
		ifc, err := net.InterfaceByName("vmmtapns0")
		if err != nil {
			t.Error(err)
			return nil
		}
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			found = found || a.String() == addr.String()
		}
		return nil
	})
	if !found {
		t.Errorf("the tap in the namespace lacks %s", addr)
	}
	if _, err := net.InterfaceByName("vmmtapns0"); err == nil {
		t.Error("the tap is visible outside its namespace")
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := New("vmmtapns0", addr)
	if err != nil {
		t.Fatalf("a second namespace with the same tap name: %v", err)
	}
	again.Close()
}
