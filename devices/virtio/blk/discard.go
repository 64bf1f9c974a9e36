package blk

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/vmmlab/vmm/devices/virtio/queue"
)

// Discard and write-zeroes: the guest sends a list of ranges; discarded
// ranges read back as zeros (the file gets holes), zeroed ones too.
const (
	featureDiscard     = uint64(1) << 13
	featureWriteZeroes = uint64(1) << 14
	typeDiscard        = 11
	typeWriteZeroes    = 13
	segmentSize        = 16 // le64 sector, le32 num_sectors, le32 flags
	maxSegments        = 64
	// maxRangeSectors bounds one request's ranges together (1 GiB, given
	// to the driver as max_discard_sectors and max_write_zeroes_sectors):
	// the work is the host's, and 64 overlapping 1 GiB ranges once made one
	// request write 64 GiB.
	maxRangeSectors = 1 << 21
)

// Ranger zeroes byte ranges of the backend; punch also releases the
// space (a hole). CanZero reports whether zeroing without punching is
// cheap (no data written); write-zeroes is offered only then. *os.File
// backends get one, through fallocate.
type Ranger interface {
	ZeroRange(off, n int64, punch bool) error
	CanZero() bool
}

// fileRanger zeroes ranges of a file with fallocate. It never falls back
// to writing zeros: that would be unbounded host work for one request.
type fileRanger struct {
	f    *os.File
	zero bool // FALLOC_FL_ZERO_RANGE works here (probed at open)
}

func (r fileRanger) ZeroRange(off, n int64, punch bool) error {
	mode := uint32(unix.FALLOC_FL_ZERO_RANGE)
	if punch {
		mode = unix.FALLOC_FL_PUNCH_HOLE | unix.FALLOC_FL_KEEP_SIZE
	}
	return fallocate(r.f, mode, off, n)
}

func (r fileRanger) CanZero() bool { return r.zero }

func fallocate(f *os.File, mode uint32, off, n int64) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = unix.Fallocate(int(fd), mode, off, n) }); err != nil {
		return err
	}
	return ferr
}

// probeZeroRange tells whether the file system zeroes ranges of f without
// writing (ext4, xfs, block devices do; tmpfs does not). It zeroes one
// block past the end without changing the size, then punches it out
// again, so the disk's contents and size stay as they were.
func probeZeroRange(f *os.File, size int64) bool {
	if fallocate(f, unix.FALLOC_FL_ZERO_RANGE|unix.FALLOC_FL_KEEP_SIZE, size, 4096) != nil {
		return false
	}
	fallocate(f, unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, size, 4096)
	return true
}

// zeroRanges serves a discard or write-zeroes request: its ranges follow
// the header in the chain's readable part.
func (d *Device) zeroRanges(c queue.Chain, typ uint32, dataOut uint64) error {
	if d.readOnly {
		return errors.New("read-only disk")
	}
	if d.ranger == nil {
		return errors.New("backend cannot zero ranges")
	}
	if dataOut == 0 || dataOut%segmentSize != 0 || dataOut/segmentSize > maxSegments {
		return fmt.Errorf("%d bytes of ranges: want 1 to %d 16-byte segments", dataOut, maxSegments)
	}
	segs := make([]byte, dataOut)
	if err := c.ReadAt(d.mem, segs, headerSize); err != nil {
		return err
	}
	// Check every range, and their total, before doing any of them.
	var total uint64
	for i := 0; i < len(segs); i += segmentSize {
		sector := binary.LittleEndian.Uint64(segs[i:])
		n := uint64(binary.LittleEndian.Uint32(segs[i+8:]))
		flags := binary.LittleEndian.Uint32(segs[i+12:])
		total += n
		if n == 0 || total > maxRangeSectors || sector > d.sectors || n > d.sectors-sector || flags&^1 != 0 {
			return errRange
		}
	}
	if typ == typeWriteZeroes && !d.ranger.CanZero() {
		return errors.New("write-zeroes not offered on this backend")
	}
	for i := 0; i < len(segs); i += segmentSize {
		sector := binary.LittleEndian.Uint64(segs[i:])
		n := uint64(binary.LittleEndian.Uint32(segs[i+8:]))
		punch := typ == typeDiscard || binary.LittleEndian.Uint32(segs[i+12:])&1 != 0 // discard, or write-zeroes that may unmap
		if err := d.ranger.ZeroRange(int64(sector*sectorSize), int64(n*sectorSize), punch); err != nil {
			return err
		}
	}
	return nil
}
