// Package vsock owns the virtio-vsock device model in vmm's userspace,
// with the host side of Firecracker's "hybrid" design: guest sockets of
// family AF_VSOCK reach host programs through one unix socket, PATH. A
// host program connects to PATH and writes "CONNECT port\n" to reach a
// guest listener on that port (vmm answers "OK hostport\n" once the
// guest accepts); a guest that connects to CID 2, port P reaches the
// host program listening on the unix socket PATH_P. Streams have the
// spec's credit-based flow control both ways; a device reset ends every
// connection; connections and buffered bytes are bounded.
package vsock

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"

	"github.com/vmmlab/vmm/devices/virtio"
	"github.com/vmmlab/vmm/devices/virtio/queue"
	"github.com/vmmlab/vmm/internal/unixsock"
)

// Config is one vsock device.
type Config struct {
	CID  uint64 // the guest's context ID: 3 or more
	Path string // the host's unix socket; guest-initiated connections go to Path_PORT
	// MaxConns bounds the open connections (default 64); BufSize is what
	// each connection buffers each way (default 256 KiB), which is the
	// credit the guest gets.
	MaxConns int
	BufSize  uint32
}

const (
	queueSize       = 128
	defaultMaxConns = 64
	defaultBufSize  = 256 << 10
	// maxControl bounds the packets without payload that wait for rx
	// buffers (replies, RSTs, credit updates): past it, the device takes
	// no more tx packets until the guest gives it rx buffers, as Linux's
	// vhost-vsock stops reading tx while its replies wait. A guest that
	// posts none then only stalls itself.
	maxControl = 2 * queueSize
)

// control is a packet without payload waiting for the rx queue: for a
// connection (ports and credit are filled in when it is sent), or, when c
// is nil, complete in h (a RST to a connection vmm does not have).
type control struct {
	c *conn
	h header
}

// Device is one virtio-vsock device.
type Device struct {
	cfg Config
	ln  *net.UnixListener

	virtio.Workers // Notify, Failed: the rx and tx goroutines of the current activation
	mem            queue.Memory
	rxq, txq       *queue.Queue
	irq            virtio.Interrupts
	wake           chan struct{} // the rx goroutine has packets to send
	room           chan struct{} // the rx goroutine sent packets: there may be room for more replies

	mu       sync.Mutex
	active   bool // between Activate and Reset: the guest's driver runs
	conns    map[connKey]*conn
	control  []control
	nextPort uint32
	// counters
	hostConnects, guestConnects, refused, overruns, malformed uint64
	toGuest, toHost                                           uint64
}

// New makes a device for the guest with context ID cfg.CID and listens
// on cfg.Path, which must not exist yet.
func New(cfg Config) (*Device, error) {
	if cfg.CID < 3 || cfg.CID >= 0xffffffff {
		return nil, fmt.Errorf("virtio-vsock: guest CID %d: want 3 to 4294967294 (0-2 are the hypervisor, local and host)", cfg.CID)
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = defaultMaxConns
	}
	if cfg.BufSize == 0 {
		cfg.BufSize = defaultBufSize
	}
	if err := checkDir(filepath.Dir(cfg.Path)); err != nil {
		return nil, fmt.Errorf("virtio-vsock: %w", err)
	}
	// Not private: the host programs that connect may run as another
	// user than vmm; the socket file's directory decides who reaches it.
	ln, err := unixsock.Listen(cfg.Path, false)
	if err != nil {
		return nil, fmt.Errorf("virtio-vsock: %w", err)
	}
	d := &Device{cfg: cfg, ln: ln, wake: make(chan struct{}, 1), room: make(chan struct{}, 1), conns: map[connKey]*conn{}}
	go d.accept(ln)
	return d, nil
}

// checkDir refuses a socket directory that others than its owner may
// write: guest-initiated connections go to PATH_PORT there, and another
// user could listen on it first (a sticky /tmp does not stop that).
func checkDir(dir string) error {
	st, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if st.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%s is writable by others (mode %v): another user could listen on the socket's PATH_PORT first; put the socket in a directory only its owner writes", dir, st.Mode().Perm())
	}
	return nil
}

// ID is virtio.IDVsock.
func (d *Device) ID() uint32 { return virtio.IDVsock }

// Features: stream sockets only (the spec's default without
// VIRTIO_VSOCK_F_SEQPACKET).
func (d *Device) Features() uint64 {
	return virtio.FeatureVersion1 | virtio.FeatureIndirect | virtio.FeatureEventIdx
}

// QueueSizes: rx, tx and event.
func (d *Device) QueueSizes() []uint16 { return []uint16{queueSize, queueSize, queueSize} }

// ReadConfig reads guest_cid (le64).
func (d *Device) ReadConfig(offset uint64, data []byte) {
	var cfg [8]byte
	for i := range cfg {
		cfg[i] = byte(d.cfg.CID >> (8 * i))
	}
	virtio.CopyConfig(cfg[:], offset, data)
}

// WriteConfig ignores writes: the configuration is read-only.
func (d *Device) WriteConfig(offset uint64, data []byte) {}

// Activate starts the rx and tx goroutines; the event queue is never
// used (it only carries a transport reset, after a migration).
func (d *Device) Activate(mem queue.Memory, features uint64, queues []*queue.Queue, irq virtio.Interrupts) error {
	if err := virtio.TakeQueues("virtio-vsock", 3, features, queues); err != nil {
		return err
	}
	d.Reset()
	d.mem, d.rxq, d.txq, d.irq = mem, queues[0], queues[1], irq
	d.mu.Lock()
	d.active = true
	d.mu.Unlock()
	d.Workers.Start(irq, d.serveRx, d.serveTx)
	return nil
}

// Reset stops the goroutines and ends every connection: the host
// programs see their sockets close.
func (d *Device) Reset() {
	d.Workers.Stop()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.active = false
	for _, c := range d.conns {
		d.drop(c, false)
	}
	d.control = nil
}

// Close resets the device and closes its unix socket (the file stays).
func (d *Device) Close() error {
	d.Reset()
	return d.ln.Close()
}

// Counters says what the device did, as vmm reports it.
func (d *Device) Counters() map[string]uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return map[string]uint64{
		"host_connects": d.hostConnects, "guest_connects": d.guestConnects, "refused": d.refused,
		"credit_overruns": d.overruns, "bad_packets": d.malformed,
		"bytes_to_guest": d.toGuest, "bytes_to_host": d.toHost, "open": uint64(len(d.conns)),
	}
}

func (d *Device) wakeRx() { signal(d.wake) }

// signal sets a one-slot wake-up channel without blocking: a wake-up
// already pending covers this one.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// newConn adds a connection. The caller holds d.mu.
func (d *Device) newConn(k connKey, state int, s *net.UnixConn) (*conn, error) {
	switch {
	case !d.active:
		return nil, errors.New("the guest's vsock driver is not running")
	case len(d.conns) >= d.cfg.MaxConns:
		return nil, fmt.Errorf("%d connections open already", len(d.conns))
	case d.conns[k] != nil:
		return nil, fmt.Errorf("connection %d:%d exists", k.host, k.guest)
	}
	c := &conn{key: k, state: state, sock: s, cond: sync.NewCond(&d.mu), in: fifo{limit: int(d.cfg.BufSize)}}
	d.conns[k] = c
	return c, nil
}

// drop ends connection c: its host socket closes and its goroutines end;
// with rst the guest is told. The caller holds d.mu.
func (d *Device) drop(c *conn, rst bool) {
	if c.gone {
		return
	}
	c.gone = true
	delete(d.conns, c.key)
	if c.sock != nil {
		c.sock.Close()
	}
	c.cond.Broadcast()
	if rst {
		d.control = append(d.control, control{h: header{SrcCID: HostCID, DstCID: d.cfg.CID,
			SrcPort: c.key.host, DstPort: c.key.guest, Type: typeStream, Op: opRst}})
		d.wakeRx()
	}
}

// sendControl queues a packet without payload for connection c. The
// caller holds d.mu.
func (d *Device) sendControl(c *conn, op uint16, flags uint32) {
	d.control = append(d.control, control{c: c, h: header{Op: op, Flags: flags}})
	d.wakeRx()
}

// stamp completes a packet for connection c with its ports and the
// device's credit, which the guest now knows. The caller holds d.mu.
func (d *Device) stamp(c *conn, h header) header {
	h.SrcCID, h.DstCID, h.SrcPort, h.DstPort, h.Type = HostCID, d.cfg.CID, c.key.host, c.key.guest, typeStream
	h.BufAlloc, h.FwdCnt = d.cfg.BufSize, c.fwdCnt
	c.creditSent = c.fwdCnt
	return h
}
