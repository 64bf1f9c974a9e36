// Package blk owns the virtio-blk device model: requests from the guest's
// queue become reads, writes, flushes (fsync) and ID queries on a host file
// or block device, done on a goroutine of the device, never on a vCPU.
// Read-only disks refuse writes. A disk whose size is not a multiple of 512
// exposes only its whole sectors.
package blk

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/vmmlab/vmm/devices/virtio"
	"github.com/vmmlab/vmm/devices/virtio/queue"
)

// Feature bits of virtio-blk.
const (
	featureSizeMax = uint64(1) << 1
	featureSegMax  = uint64(1) << 2
	featureRO      = uint64(1) << 5
	featureBlkSize = uint64(1) << 6
	featureFlush   = uint64(1) << 9
)

// Request types and status values.
const (
	typeIn    = 0
	typeOut   = 1
	typeFlush = 4
	typeGetID = 8

	statusOK     = 0
	statusIOErr  = 1
	statusUnsupp = 2

	sectorSize = 512
	headerSize = 16
	idSize     = 20
	queueSize  = 256
	// maxRequest bounds one request's data.
	maxRequest = 4 << 20
	// stageSize is the host buffer data goes through between the disk and
	// guest memory: a larger request is copied piece by piece, so serving
	// a disk costs vmm this much heap, however large the requests are.
	stageSize = 128 << 10
)

// Backend is the storage behind the disk; *os.File is one.
type Backend interface {
	io.ReaderAt
	io.WriterAt
	Sync() error
}

// Device is one virtio-blk disk.
type Device struct {
	disk     Backend
	ranger   Ranger // nil: no discard or write-zeroes
	closer   io.Closer
	readOnly bool
	sectors  uint64
	id       [idSize]byte

	virtio.Workers // Notify, Reset, Failed: the device goroutines of the current activation
	// The queue and memory of the current activation: set while no
	// worker runs (Activate stops the last one first).
	mem queue.Memory
	q   *queue.Queue
	irq virtio.Interrupts

	stage []byte // stageSize bytes, used by the one worker (made on first use)
}

// Open opens the disk at path (a regular file or a block device).
func Open(path string, readOnly bool) (*Device, error) {
	flag := os.O_RDWR
	if readOnly {
		flag = os.O_RDONLY
	}
	f, err := os.OpenFile(path, flag, 0)
	if err != nil {
		return nil, fmt.Errorf("disk: %w", err)
	}
	size, err := f.Seek(0, io.SeekEnd) // works for regular files and block devices
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("disk %s: size: %w", path, err)
	}
	d, err := New(f, size, readOnly, path)
	if err != nil {
		f.Close()
		return nil, err
	}
	d.closer = f
	if !readOnly {
		d.ranger = fileRanger{f: f, zero: probeZeroRange(f, size)}
	}
	return d, nil
}

// New makes a disk over backend of size bytes; id is reported to GET_ID
// (truncated to 20 bytes). A backend that is also a Ranger gets discard
// and write-zeroes.
func New(backend Backend, size int64, readOnly bool, id string) (*Device, error) {
	if size < sectorSize {
		return nil, fmt.Errorf("disk %s: %d bytes is smaller than one 512-byte sector", id, size)
	}
	d := &Device{disk: backend, readOnly: readOnly, sectors: uint64(size) / sectorSize}
	if r, ok := backend.(Ranger); ok && !readOnly {
		d.ranger = r
	}
	copy(d.id[:], id)
	return d, nil
}

// Close releases the backing file.
func (d *Device) Close() error {
	d.Reset()
	if d.closer != nil {
		return d.closer.Close()
	}
	return nil
}

// ID is virtio.IDBlock.
func (d *Device) ID() uint32 { return virtio.IDBlock }

// Features offers flush, read-only (when it is), the block size, indirect
// descriptors and event idx.
func (d *Device) Features() uint64 {
	f := virtio.FeatureVersion1 | virtio.FeatureIndirect | virtio.FeatureEventIdx | featureFlush | featureBlkSize |
		featureSegMax | featureSizeMax
	if d.readOnly {
		f |= featureRO
	}
	if d.ranger != nil && !d.readOnly {
		f |= featureDiscard
		if d.ranger.CanZero() {
			f |= featureWriteZeroes // only where the backend zeroes without writing
		}
	}
	return f
}

// QueueSizes: one request queue.
func (d *Device) QueueSizes() []uint16 { return []uint16{queueSize} }

// ReadConfig serves struct virtio_blk_config: capacity, size_max, seg_max,
// blk_size, and the discard and write-zeroes limits.
func (d *Device) ReadConfig(offset uint64, data []byte) {
	var cfg [60]byte
	le := binary.LittleEndian
	le.PutUint64(cfg[0:], d.sectors)
	le.PutUint32(cfg[8:], maxRequest)   // size_max
	le.PutUint32(cfg[12:], queueSize-2) // seg_max: header and status take two
	le.PutUint32(cfg[20:], sectorSize)
	le.PutUint32(cfg[36:], maxRangeSectors) // max_discard_sectors
	le.PutUint32(cfg[40:], maxSegments)     // max_discard_seg
	le.PutUint32(cfg[44:], 1)               // discard_sector_alignment
	le.PutUint32(cfg[48:], maxRangeSectors) // max_write_zeroes_sectors
	le.PutUint32(cfg[52:], maxSegments)     // max_write_zeroes_seg
	cfg[56] = 1                             // write_zeroes_may_unmap
	virtio.CopyConfig(cfg[:], offset, data)
}

// WriteConfig ignores writes: nothing in the config is writable.
func (d *Device) WriteConfig(offset uint64, data []byte) {}

// Activate starts serving the request queue on the device's goroutine.
func (d *Device) Activate(mem queue.Memory, features uint64, queues []*queue.Queue, irq virtio.Interrupts) error {
	if err := virtio.TakeQueues("virtio-blk", 1, features, queues); err != nil {
		return err
	}
	d.Workers.Stop()
	d.mem, d.q, d.irq = mem, queues[0], irq
	d.Workers.Start(irq, d.serve)
	return nil
}

// serve is the device goroutine: it serves the queue at each kick.
func (d *Device) serve(kick, stop <-chan struct{}) error {
	for {
		select {
		case <-stop:
			return nil
		case <-kick:
		}
		if err := d.process(stop); err != nil {
			return err
		}
	}
}

// process serves every available request, then interrupts the driver if
// it asked for it. An error means the ring is malformed. It stops between
// requests once stop is closed (a reset or shutdown does not wait for a
// whole queue of requests); nil never stops it.
func (d *Device) process(stop <-chan struct{}) error {
	return virtio.Drain(d.mem, d.q, d.irq, 0, stop, d.handle)
}

// handle serves one request and returns how many bytes it wrote into the
// chain's writable buffers (data and the status byte).
func (d *Device) handle(c queue.Chain) (uint32, error) {
	var hdr [headerSize]byte
	if err := c.ReadAt(d.mem, hdr[:], 0); err != nil {
		return 0, fmt.Errorf("virtio-blk request header: %w", err)
	}
	writable := queue.Len(c.Writable)
	if writable == 0 {
		return 0, fmt.Errorf("%w: virtio-blk request without a status byte", queue.ErrMalformed)
	}
	dataOut := queue.Len(c.Readable) - headerSize // bytes the guest sends after the header
	dataIn := writable - 1                        // room for data before the status byte
	typ := binary.LittleEndian.Uint32(hdr[0:])
	sector := binary.LittleEndian.Uint64(hdr[8:])
	status, written := byte(statusOK), uint64(0)
	var err error
	switch typ {
	case typeIn:
		written, err = d.read(c, sector, dataIn)
	case typeOut:
		err = d.write(c, sector, dataOut)
	case typeFlush:
		if !d.readOnly {
			err = d.disk.Sync()
		}
	case typeDiscard, typeWriteZeroes:
		err = d.zeroRanges(c, typ, dataOut)
	case typeGetID:
		n := min(dataIn, idSize)
		err = c.WriteAt(d.mem, d.id[:n], 0)
		written = n
	default:
		status = statusUnsupp
	}
	if errors.Is(err, queue.ErrMalformed) {
		return 0, err
	}
	if err != nil {
		status = statusIOErr
	}
	if err := c.WriteAt(d.mem, []byte{status}, writable-1); err != nil {
		return 0, err
	}
	return uint32(written + 1), nil
}

var errRange = errors.New("request outside the disk or not whole sectors")

// check validates a data transfer of n bytes at sector.
func (d *Device) check(sector, n uint64) error {
	if n%sectorSize != 0 || n > maxRequest || sector > d.sectors || n/sectorSize > d.sectors-sector {
		return errRange
	}
	return nil
}

func (d *Device) read(c queue.Chain, sector, n uint64) (uint64, error) {
	if err := d.check(sector, n); err != nil {
		return 0, err
	}
	for done := uint64(0); done < n; {
		buf := d.stageBuffer(n - done)
		got, err := d.disk.ReadAt(buf, int64(sector*sectorSize+done))
		if err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		clear(buf[got:]) // past the end of a short backend: zeros
		if err := c.WriteAt(d.mem, buf, done); err != nil {
			return 0, err
		}
		done += uint64(len(buf))
	}
	return n, nil
}

func (d *Device) write(c queue.Chain, sector, n uint64) error {
	if d.readOnly {
		return errors.New("read-only disk")
	}
	if err := d.check(sector, n); err != nil {
		return err
	}
	for done := uint64(0); done < n; {
		buf := d.stageBuffer(n - done)
		if err := c.ReadAt(d.mem, buf, headerSize+done); err != nil {
			return err
		}
		if _, err := d.disk.WriteAt(buf, int64(sector*sectorSize+done)); err != nil {
			return err
		}
		done += uint64(len(buf))
	}
	return nil
}

// stageBuffer is the staging buffer cut to at most n bytes.
func (d *Device) stageBuffer(n uint64) []byte {
	if d.stage == nil {
		d.stage = make([]byte, stageSize)
	}
	return d.stage[:min(n, stageSize)]
}
