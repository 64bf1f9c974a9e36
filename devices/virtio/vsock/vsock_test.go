package vsock

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmmlab/vmm/devices/virtio"
	"github.com/vmmlab/vmm/devices/virtio/queue"
	"github.com/vmmlab/vmm/devices/virtio/queue/queuetest"
)

const guestCID = 3

type noIRQ struct{}

func (noIRQ) Queue(int) error { return nil }
func (noIRQ) Config() error   { return nil }

// guest is a fake guest driver: it posts rx buffers, sends packets on
// tx, and reads what the device returns.
type guest struct {
	t      *testing.T
	d      *Device
	rx, tx *queuetest.Driver
	posted map[uint16][]queuetest.Buffer
}

// start makes a device with a socket in a fresh directory and activates
// it on a fake driver with 8 rx buffers posted.
func start(t *testing.T, cfg Config) *guest {
	t.Helper()
	cfg.CID = guestCID
	if cfg.Path == "" {
		cfg.Path = filepath.Join(t.TempDir(), "v.sock")
	}
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	drv := queuetest.NewSet(3, 64, 4<<20)
	if err := d.Activate(drv[0].Mem, virtio.FeatureVersion1, []*queue.Queue{&drv[0].Queue, &drv[1].Queue, &drv[2].Queue}, noIRQ{}); err != nil {
		t.Fatal(err)
	}
	g := &guest{t: t, d: d, rx: drv[0], tx: drv[1], posted: map[uint16][]queuetest.Buffer{}}
	for range 8 {
		g.post()
	}
	return g
}

// post adds one rx buffer as Linux 6.1 does: a header part and a 4 KiB
// data part.
func (g *guest) post() {
	head, bufs := g.rx.Add(nil, []uint32{hdrSize, 4096})
	g.posted[head] = bufs
	g.d.Notify(0)
}

func (g *guest) send(h header, payload []byte) {
	h.SrcCID, h.DstCID, h.Type = guestCID, HostCID, typeStream
	if h.Len == 0 {
		h.Len = uint32(len(payload))
	}
	b := h.encode()
	g.tx.Add([][]byte{append(b[:], payload...)}, nil)
	g.d.Notify(1)
}

// recv waits for the next packet the device sends, and posts a new
// buffer in its place.
func (g *guest) recv() (header, []byte) {
	g.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if head, n, ok := g.rx.Used(); ok {
			bufs := g.posted[head]
			delete(g.posted, head)
			raw := append(g.rx.Bytes(bufs[0]), g.rx.Bytes(bufs[1])...)[:n]
			g.post()
			var b [hdrSize]byte
			copy(b[:], raw)
			return decodeHeader(b), raw[hdrSize:]
		}
		if err := g.d.Failed(); err != nil {
			g.t.Fatalf("device failed: %v", err)
		}
		time.Sleep(time.Millisecond)
	}
	g.t.Fatal("no packet from the device within 5 s")
	return header{}, nil
}

// expect receives a packet and checks its operation.
func (g *guest) expect(op uint16) (header, []byte) {
	g.t.Helper()
	h, p := g.recv()
	if h.Op != op {
		g.t.Fatalf("got %v, want op %d", h, op)
	}
	if h.SrcCID != HostCID || h.DstCID != guestCID || h.Type != typeStream {
		g.t.Fatalf("packet %v: wrong CIDs or type", h)
	}
	return h, p
}

// hostConnect connects a host program to guest port p.
func (g *guest) hostConnect(port uint32) *net.UnixConn {
	g.t.Helper()
	s, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: g.d.cfg.Path, Net: "unix"})
	if err != nil {
		g.t.Fatal(err)
	}
	g.t.Cleanup(func() { s.Close() })
	fmt.Fprintf(s, "CONNECT %d\n", port)
	return s
}

const guestBuf = 64 << 10

// A host program reaches a guest listener, and data flows both ways
// until the guest closes.
func TestHostInitiated(t *testing.T) {
	g := start(t, Config{})
	s := g.hostConnect(1234)
	req, _ := g.expect(opRequest)
	if req.DstPort != 1234 || req.SrcPort < 1<<30 {
		t.Fatalf("request %v", req)
	}
	g.send(header{SrcPort: 1234, DstPort: req.SrcPort, Op: opResponse, BufAlloc: guestBuf}, nil)
	r := bufio.NewReader(s)
	line, err := r.ReadString('\n')
	if err != nil || line != fmt.Sprintf("OK %d\n", req.SrcPort) {
		t.Fatalf("host read %q, %v", line, err)
	}
	s.Write([]byte("hello guest"))
	h, p := g.expect(opRW)
	if string(p) != "hello guest" || h.BufAlloc != defaultBufSize {
		t.Fatalf("guest got %v %q", h, p)
	}
	g.send(header{SrcPort: 1234, DstPort: req.SrcPort, Op: opRW, BufAlloc: guestBuf}, []byte("hello host"))
	buf := make([]byte, 10)
	if _, err := io.ReadFull(r, buf); err != nil || string(buf) != "hello host" {
		t.Fatalf("host read %q, %v", buf, err)
	}
	g.send(header{SrcPort: 1234, DstPort: req.SrcPort, Op: opShutdown, Flags: shutdownRcv | shutdownSend, BufAlloc: guestBuf}, nil)
	if _, err := r.ReadByte(); err != io.EOF {
		t.Fatalf("host socket after the guest's shutdown: %v, want EOF", err)
	}
	g.expect(opRst)
	if c := g.d.Counters(); c["open"] != 0 || c["host_connects"] != 1 || c["bytes_to_host"] != 10 || c["bytes_to_guest"] != 11 {
		t.Fatalf("counters %v", c)
	}
}

// A guest connection reaches the host listener at PATH_port; the host's
// close reaches the guest as SHUTDOWN (send).
func TestGuestInitiated(t *testing.T) {
	g := start(t, Config{})
	ln, err := net.Listen("unix", g.d.cfg.Path+"_5678")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	g.send(header{SrcPort: 40000, DstPort: 5678, Op: opRequest, BufAlloc: guestBuf}, nil)
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	g.expect(opResponse)
	g.send(header{SrcPort: 40000, DstPort: 5678, Op: opRW, BufAlloc: guestBuf}, []byte("ping"))
	buf := make([]byte, 4)
	if _, err := io.ReadFull(s, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("host read %q, %v", buf, err)
	}
	s.Write([]byte("pong"))
	s.Close()
	if _, p := g.expect(opRW); string(p) != "pong" {
		t.Fatalf("guest got %q", p)
	}
	if h, _ := g.expect(opShutdown); h.Flags != shutdownSend {
		t.Fatalf("shutdown flags %d", h.Flags)
	}
}

// No host listener: the guest's request is refused with RST; so is a
// packet for a connection that does not exist, or from another CID.
func TestRefused(t *testing.T) {
	g := start(t, Config{})
	g.send(header{SrcPort: 40000, DstPort: 9, Op: opRequest, BufAlloc: guestBuf}, nil)
	if h, _ := g.expect(opRst); h.DstPort != 40000 || h.SrcPort != 9 {
		t.Fatalf("rst %v", h)
	}
	g.send(header{SrcPort: 40001, DstPort: 9, Op: opRW}, []byte("x"))
	g.expect(opRst)
	b := header{SrcCID: 7, DstCID: HostCID, SrcPort: 1, DstPort: 2, Type: typeStream, Op: opRequest}.encode()
	g.tx.Add([][]byte{b[:]}, nil)
	g.d.Notify(1)
	if h, _ := g.recv(); h.Op != opRst || h.DstCID != 7 {
		t.Fatalf("reply to a foreign CID: %v", h)
	}
	if c := g.d.Counters(); c["refused"] != 1 || c["bad_packets"] != 1 {
		t.Fatalf("counters %v", c)
	}
}

// openPair opens a guest-initiated connection and returns the host end.
func (g *guest) openPair(guestPort uint32) net.Conn {
	g.t.Helper()
	path := fmt.Sprintf("%s_%d", g.d.cfg.Path, 5000+guestPort)
	ln, err := net.Listen("unix", path)
	if err != nil {
		g.t.Fatal(err)
	}
	defer ln.Close()
	g.send(header{SrcPort: guestPort, DstPort: 5000 + guestPort, Op: opRequest, BufAlloc: guestBuf}, nil)
	s, err := ln.Accept()
	if err != nil {
		g.t.Fatal(err)
	}
	g.t.Cleanup(func() { s.Close() })
	g.expect(opResponse)
	return s
}

// The device never sends more than the guest's credit; a credit update
// lets the rest through.
func TestCreditToGuest(t *testing.T) {
	g := start(t, Config{})
	s := g.openPair(1)
	data := bytes.Repeat([]byte("0123456789abcdef"), guestBuf/16*2) // twice the guest's buffer
	go s.Write(data)
	var got []byte
	for len(got) < guestBuf {
		_, p := g.expect(opRW)
		got = append(got, p...)
	}
	if len(got) != guestBuf {
		t.Fatalf("device sent %d bytes on a credit of %d", len(got), guestBuf)
	}
	time.Sleep(50 * time.Millisecond)
	if _, _, ok := g.rx.Used(); ok {
		t.Fatal("a packet beyond the guest's credit")
	}
	g.send(header{SrcPort: 1, DstPort: 5001, Op: opCreditUpdate, BufAlloc: guestBuf, FwdCnt: guestBuf}, nil)
	for len(got) < len(data) {
		_, p := g.expect(opRW)
		got = append(got, p...)
	}
	if !bytes.Equal(got, data) {
		t.Fatal("stream corrupted")
	}
}

// A guest that sends beyond the device's credit loses the connection.
func TestCreditOverrun(t *testing.T) {
	g := start(t, Config{BufSize: 4096})
	g.openPair(2)
	g.send(header{SrcPort: 2, DstPort: 5002, Op: opRW, BufAlloc: guestBuf}, make([]byte, 4097))
	g.expect(opRst)
	if c := g.d.Counters(); c["credit_overruns"] != 1 || c["open"] != 0 {
		t.Fatalf("counters %v", c)
	}
}

// The device returns credit as the host takes the guest's data.
func TestCreditToHost(t *testing.T) {
	g := start(t, Config{BufSize: 8192})
	s := g.openPair(3)
	g.send(header{SrcPort: 3, DstPort: 5003, Op: opRW, BufAlloc: guestBuf}, make([]byte, 8192))
	io.ReadFull(s, make([]byte, 8192))
	h, _ := g.expect(opCreditUpdate)
	if h.FwdCnt < 2048 || h.BufAlloc != 8192 {
		t.Fatalf("credit update %v fwd %d", h, h.FwdCnt)
	}
}

// A device reset closes every host socket.
func TestResetClosesConnections(t *testing.T) {
	g := start(t, Config{})
	s := g.openPair(4)
	g.d.Reset()
	s.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := s.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("host socket after reset: %v, want EOF", err)
	}
	// With no driver, a host program is told so.
	c := g.hostConnect(1)
	line, _ := bufio.NewReader(c).ReadString('\n')
	if !strings.Contains(line, "not running") {
		t.Fatalf("host program got %q", line)
	}
}

// MaxConns bounds the connections; a bad CONNECT line is refused.
func TestLimits(t *testing.T) {
	g := start(t, Config{MaxConns: 1})
	g.openPair(5)
	g.send(header{SrcPort: 6, DstPort: 5006, Op: opRequest, BufAlloc: guestBuf}, nil)
	g.expect(opRst)
	s, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: g.d.cfg.Path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Write([]byte("HELLO\n"))
	line, _ := bufio.NewReader(s).ReadString('\n')
	if !strings.HasPrefix(line, "error: ") {
		t.Fatalf("bad CONNECT line answered %q", line)
	}
}

// Malformed rings stop the device (NEEDS_RESET), never panic.
func TestMalformedPacket(t *testing.T) {
	g := start(t, Config{})
	g.tx.Add([][]byte{make([]byte, 10)}, nil) // shorter than a header
	g.d.Notify(1)
	deadline := time.Now().Add(5 * time.Second)
	for g.d.Failed() == nil && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if g.d.Failed() == nil {
		t.Fatal("a 10-byte packet did not fail the device")
	}
}

// A socket an earlier vmm left is replaced; a live one is not.
func TestSocketPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v.sock")
	d, err := New(Config{CID: 3, Path: path})
	if err != nil {
		t.Fatal(err)
	}
	if d2, err := New(Config{CID: 4, Path: path}); err == nil || !strings.Contains(err.Error(), "live socket") {
		t.Fatalf("a second device on a live socket: %v", err)
		d2.Close()
	}
	d.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the socket file should stay after Close: %v", err)
	}
	d, err = New(Config{CID: 3, Path: path})
	if err != nil {
		t.Fatalf("replacing a stale socket: %v", err)
	}
	d.Close()
}

func TestBadConfig(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "file"), nil, 0o600)
	for _, cfg := range []Config{{CID: 2, Path: filepath.Join(dir, "a")}, {CID: 1 << 32, Path: filepath.Join(dir, "b")}, {CID: 3, Path: dir}, {CID: 3, Path: filepath.Join(dir, "file")}} {
		if d, err := New(cfg); err == nil {
			d.Close()
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}

// The socket's directory must be one only its owner can write: in a
// shared one another user could listen on PATH_PORT before the guest
// connects there, and take its stream.
func TestSharedDirectoryRefused(t *testing.T) {
	for _, mode := range []os.FileMode{0o777, 0o777 | os.ModeSticky, 0o770} {
		dir := filepath.Join(t.TempDir(), "shared")
		os.Mkdir(dir, 0o700)
		os.Chmod(dir, mode)
		d, err := New(Config{CID: 3, Path: filepath.Join(dir, "v.sock")})
		if err == nil {
			d.Close()
			t.Errorf("a socket in a directory of mode %v was accepted", mode)
		} else if !strings.Contains(err.Error(), "writable by others") {
			t.Errorf("mode %v: %v", mode, err)
		}
	}
}
