package tap

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vmmlab/vmm/devices/virtio/netdev"
	"github.com/vmmlab/vmm/internal/netns"
)

func TestOpenBadInput(t *testing.T) {
	for _, name := range []string{"", strings.Repeat("x", 16)} {
		if _, err := Open(Device, name); err == nil {
			t.Errorf("name %q accepted", name)
		}
	}
	_, err := Open(filepath.Join(t.TempDir(), "tun"), "tap0")
	if err == nil || !strings.Contains(err.Error(), "modprobe tun") {
		t.Errorf("missing clone device: %v", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if _, err := FromFD(int(r.Fd())); err == nil || !strings.Contains(err.Error(), "not a TAP") {
		t.Errorf("FromFD(pipe): %v", err)
	}
}

// inNetNS runs f in a fresh network namespace (which needs root; CI has
// it, elsewhere the test fails and says why). f runs off the test
// goroutine: it must use t.Error, not t.Fatal.
func inNetNS(t *testing.T, f func()) {
	t.Helper()
	ns, err := netns.New()
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	ns.Do(func() error { f(); return nil })
}

// readFrame reads frames until one with the given EtherType arrives
// (IPv6 router solicitations and the like come and go).
// It runs inside netns.Do, off the test goroutine, so it reports errors
// rather than calling t.Fatal.
func readFrame(tp *Tap, etherType uint16) ([]byte, error) {
	buf := make([]byte, netdev.MaxFrame)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		tp.f.SetReadDeadline(deadline)
		n, err := tp.ReadFrame(buf)
		if err != nil {
			return nil, fmt.Errorf("waiting for a frame of type %#x: %w", etherType, err)
		}
		if n >= netdev.HeaderSize+14 && binary.BigEndian.Uint16(buf[netdev.HeaderSize+12:]) == etherType {
			return buf[:n], nil
		}
	}
	return nil, fmt.Errorf("no frame of type %#x", etherType)
}

// The kernel's ARP request for a peer comes out of the tap behind a
// virtio-net header; an ARP reply written into the tap lets the kernel
// send the waiting UDP datagram, which comes out partially checksummed
// once checksum offload is on.
func TestTapCarriesFramesBothWays(t *testing.T) {
	inNetNS(t, func() {
		tp, err := Open(Device, "vmmtest0")
		if err != nil {
			t.Error(err)
			return
		}
		defer tp.Close()
		if _, err := Open(Device, "vmmtest0"); err == nil || !strings.Contains(err.Error(), "busy") {
			t.Errorf("second open of an attached tap: %v", err)
		}
		if err := tp.SetOffload(netdev.Offload{CSUM: true}); err != nil {
			t.Error(err)
			return
		}
		if err := netns.SetUp("vmmtest0", netip.MustParsePrefix("10.9.0.1/24")); err != nil {
			t.Error(err)
			return
		}
		s, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Error(err)
			return
		}
		defer unix.Close(s)
		payload := []byte("hello through the tap")
		if err := unix.Sendto(s, payload, 0, &unix.SockaddrInet4{Port: 9, Addr: [4]byte{10, 9, 0, 2}}); err != nil {
			t.Errorf("sendto: %v", err)
			return
		}
		req, err := readFrame(tp, 0x0806)
		if err != nil {
			t.Error(err)
			return
		}
		arp := req[netdev.HeaderSize+14:]
		if !bytes.Equal(arp[24:28], []byte{10, 9, 0, 2}) || binary.BigEndian.Uint16(arp[6:]) != 1 {
			t.Errorf("not an ARP request for 10.9.0.2: % x", arp[:28])
			return
		}
		hostMAC := req[netdev.HeaderSize+6 : netdev.HeaderSize+12]
		peerMAC := []byte{0x02, 0, 0, 0, 0, 2}
		reply := make([]byte, netdev.HeaderSize, netdev.HeaderSize+42)
		reply = append(reply, hostMAC...)
		reply = append(reply, peerMAC...)
		reply = append(reply, 0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 2)
		reply = append(reply, peerMAC...)
		reply = append(reply, 10, 9, 0, 2)
		reply = append(reply, hostMAC...)
		reply = append(reply, 10, 9, 0, 1)
		if err := tp.WriteFrame(reply); err != nil {
			t.Errorf("WriteFrame: %v", err)
			return
		}
		ip, err := readFrame(tp, 0x0800)
		if err != nil {
			t.Error(err)
			return
		}
		if !bytes.Equal(ip[netdev.HeaderSize:netdev.HeaderSize+6], peerMAC) || !bytes.HasSuffix(ip, payload) {
			t.Errorf("UDP frame not to the peer or without the payload: % x", ip)
		}
		if flags := ip[0]; flags&1 == 0 { // VIRTIO_NET_HDR_F_NEEDS_CSUM
			t.Errorf("header flags %#x: checksum offload on, yet the frame is not partially checksummed", flags)
		}
	})
}

// Close interrupts a blocked ReadFrame.
func TestCloseWakesReader(t *testing.T) {
	inNetNS(t, func() {
		tp, err := Open(Device, "vmmtest1")
		if err != nil {
			t.Error(err)
			return
		}
		errc := make(chan error, 1)
		go func() {
			_, err := tp.ReadFrame(make([]byte, netdev.MaxFrame))
			errc <- err
		}()
		time.Sleep(20 * time.Millisecond)
		tp.Close()
		select {
		case err := <-errc:
			if err == nil {
				t.Error("read on a closed tap succeeded")
			}
		case <-time.After(10 * time.Second):
			t.Error("ReadFrame still blocked after Close")
		}
	})
}

// A duplicate of an open tap's descriptor (what a parent passes to vmm as
// --net fd=N) is accepted by FromFD and names the same interface.
func TestFromFD(t *testing.T) {
	inNetNS(t, func() {
		tp, err := Open(Device, "vmmtest2")
		if err != nil {
			t.Error(err)
			return
		}
		defer tp.Close()
		f, err := tp.File()
		if err != nil {
			t.Error(err)
			return
		}
		fd, err := unix.Dup(int(f.Fd()))
		f.Close()
		if err != nil {
			t.Error(err)
			return
		}
		other, err := FromFD(fd)
		if err != nil {
			t.Error(err)
			return
		}
		defer other.Close()
		if other.Name() != "vmmtest2" {
			t.Errorf("FromFD names %q", other.Name())
		}
		if err := other.SetOffload(netdev.Offload{CSUM: true, TSO4: true, TSO6: true, ECN: true}); err != nil {
			t.Error(err)
		}
	})
}

// Defect: FromFD took ownership of the descriptor but left it open when
// it refused it.
func TestFromFDClosesWhatItRefuses(t *testing.T) {
	var p [2]int
	if err := unix.Pipe(p[:]); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[1])
	if _, err := FromFD(p[0]); err == nil {
		t.Fatal("a pipe was taken for a tap")
	}
	if _, err := unix.FcntlInt(uintptr(p[0]), unix.F_GETFD, 0); err != unix.EBADF {
		t.Errorf("the refused descriptor is still open (fcntl: %v)", err)
	}
}
