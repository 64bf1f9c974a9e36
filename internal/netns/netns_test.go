package netns

import (
	"context"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
)

// A listener made inside the namespace is reachable from inside it and
// not from the test's own namespace.
func TestNamespaceIsolates(t *testing.T) {
	ns, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	ln, err := ns.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			io.WriteString(c, "inside")
			c.Close()
		}
	}()
	c, err := ns.DialContext(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("dial inside: %v", err)
	}
	got, _ := io.ReadAll(c)
	c.Close()
	if string(got) != "inside" {
		t.Errorf("read %q", got)
	}
	if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		b, _ := io.ReadAll(c)
		c.Close()
		if string(b) == "inside" {
			t.Error("the namespace's listener is reachable from outside")
		}
	}
}

func TestSetUpErrors(t *testing.T) {
	ns, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	err = ns.Do(func() error { return SetUp("nosuch0", netip.MustParsePrefix("10.1.0.1/24")) })
	if err == nil || !strings.Contains(err.Error(), "nosuch0") {
		t.Errorf("missing interface: %v", err)
	}
	err = ns.Do(func() error { return SetUp("lo", netip.MustParsePrefix("fd00::1/64")) })
	if err == nil || !strings.Contains(err.Error(), "IPv4") {
		t.Errorf("IPv6 address: %v", err)
	}
}
