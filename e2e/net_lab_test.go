package e2e

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vmmlab/vmm/lab/labenv"

	"github.com/vmmlab/vmm/guestinit"
	"github.com/vmmlab/vmm/internal/kvmtest"
	"github.com/vmmlab/vmm/internal/tapns"
)

const (
	hostAddr  = "10.0.2.1"
	guestAddr = "10.0.2.2"
	netBlob   = 16 << 20 // as cmd/testworkload
)

func netBlobData() []byte {
	b := make([]byte, netBlob)
	for i := range b {
		b[i] = byte(i*13 + i>>10)
	}
	return b
}

// virtio-net over a tap in a network namespace the test creates: the
// guest gets its address from the command line, fetches a page and a
// blob from the host side's server, and the host side fetches a page and
// a blob from the guest's server. Only the namespace's tap carries
// traffic. vmm gets the tap as an open file descriptor (--net fd=3), the
// way a privileged parent hands one to an unprivileged vmm.
func TestVirtioNet(t *testing.T) {
	l := kernelOnly(t)
	image := kvmtest.File(t, labenv.EnvWorkloadInitramfs)
	n, err := tapns.New("vmmtap0", netip.MustParsePrefix(hostAddr+"/24"))
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	ns := n.NS
	token := rand.Text()
	ln, err := ns.Listen("tcp", hostAddr+":8080")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	blob := netBlobData()
	mux := http.NewServeMux()
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "host page "+token) })
	mux.HandleFunc("/blob", func(w http.ResponseWriter, r *http.Request) { w.Write(blob) })
	go http.Serve(ln, mux)

	client := &http.Client{Transport: &http.Transport{DialContext: ns.DialContext}, Timeout: 2 * time.Minute}
	var page string
	var txMBps float64
	fetchFromGuest := func(ctx context.Context, console *watchBuffer) error {
		for !strings.Contains(console.String(), "NET-READY") {
			select {
			case <-ctx.Done():
				return fmt.Errorf("the guest never said NET-READY")
			case <-time.After(100 * time.Millisecond):
			}
		}
		body, err := httpGet(client, "http://"+guestAddr+"/")
		if err != nil {
			return err
		}
		page = string(body)
		start := time.Now()
		data, err := httpGet(client, "http://"+guestAddr+"/blob")
		if err != nil {
			return err
		}
		txMBps = float64(len(data)) / (1 << 20) / time.Since(start).Seconds()
		if sha256.Sum256(data) != sha256.Sum256(blob) {
			return fmt.Errorf("blob from the guest differs (%d bytes)", len(data))
		}
		_, err = httpGet(client, "http://"+guestAddr+"/done")
		return err
	}

	file := n.Tap
	cmdline := withTask(guestinit.Task{Run: "/bin/testworkload", Args: []string{"net", "http://" + hostAddr + ":8080"},
		IP: netip.MustParsePrefix(guestAddr + "/24"), GW: netip.MustParseAddr(hostAddr)})
	r := l.boot(t, input{limit: 200 * time.Second, ns: ns, files: []*os.File{file}, during: fetchFromGuest},
		"--kernel", l.kernel, "--initrd", image, "--mem", "256M", "--net", "fd=3,mac=02:00:00:00:02:02", "--cmdline", cmdline)
	if r.code != 0 {
		t.Fatalf("exit %d\nconsole:\n%s\nstderr:\n%s", r.code, r.out, r.stderr)
	}
	if got := field(t, r.out, "NET-FETCHED"); got != "host page "+token {
		t.Errorf("the guest fetched %q from the host", got)
	}
	if want := fmt.Sprintf("%x bytes=%d", sha256.Sum256(blob), len(blob)); field(t, r.out, "NET-RX sha256") != want {
		t.Errorf("the guest's copy of the host's blob differs: %s", field(t, r.out, "NET-RX sha256"))
	}
	if page != "hello from the guest's web server\n" {
		t.Errorf("the host fetched %q from the guest", page)
	}
	if mac := field(t, r.out, "NET-MAC"); mac != "02:00:00:00:02:02" {
		t.Errorf("the guest's eth0 has MAC %s, want the one given with --net", mac)
	}
	t.Logf("TCP throughput over virtio-net (16 MiB, lab numbers): host->guest %s MB/s, guest->host %.1f MB/s",
		field(t, r.out, "NET-RX-MBPS"), txMBps)
}

func httpGet(c *http.Client, url string) ([]byte, error) {
	resp, err := c.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return io.ReadAll(resp.Body)
}
