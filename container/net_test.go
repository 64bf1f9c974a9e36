package container

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/vmmlab/vmm/privnet"
)

// With a network, the container gets eth0 on the bridge: it fetches a
// page from the gateway and the gateway side fetches one from it, like the
// VM does over its tap; Stop removes the veth.
func TestContainerNetwork(t *testing.T) {
	rootfs := workloadRootfs(t)
	r := runtimeFor(t, "crun")
	n, err := privnet.New(netip.MustParsePrefix("10.0.4.0/24"))
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	ln, err := n.NS.Listen("tcp", n.Gateway().String()+":8080")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	mux := http.NewServeMux()
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "host page") })
	mux.HandleFunc("/blob", func(w http.ResponseWriter, r *http.Request) { w.Write(make([]byte, 16<<20)) })
	go http.Serve(ln, mux)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := testConfig(rootfs, "vmmtest-net", "testworkload", "net", fmt.Sprintf("http://%s:8080", n.Gateway()))
	c.MemLimit = 128 << 20
	ct, err := r.Start(ctx, c, StartOptions{StateDir: t.TempDir(), Marker: "NET-READY", Network: n})
	if err != nil {
		t.Fatal(err)
	}
	defer ct.Stop()
	if !ct.Addr.IsValid() || !n.Prefix().Contains(ct.Addr.Addr()) {
		t.Fatalf("container address %v", ct.Addr)
	}
	client := &http.Client{Transport: &http.Transport{DialContext: n.NS.DialContext}, Timeout: 30 * time.Second}
	for _, path := range []string{"/", "/done"} {
		resp, err := client.Get("http://" + ct.Addr.Addr().String() + path)
		if err != nil {
			t.Fatalf("GET %s from the container: %v", path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if path == "/" && string(body) != "hello from the guest's web server\n" {
			t.Errorf("container served %q", body)
		}
	}
	exit, err := ct.Wait(ctx, nil)
	if err != nil || exit.Code != 0 {
		t.Fatalf("exit %v %v; output:\n%s", exit, err, ct.Output())
	}
	if !strings.Contains(ct.Output(), "NET-FETCHED=host page") {
		t.Errorf("the container did not fetch the host's page:\n%s", ct.Output())
	}
	if err := ct.Stop(); err != nil {
		t.Error(err)
	}
	if left := n.Leftovers(); len(left) > 0 {
		t.Errorf("veths left: %v", left)
	}
	checkGone(t, r, ct)
}
