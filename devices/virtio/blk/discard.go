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
	// maxRangeSectors bounds one range (1 GiB): the work is the host's.
	maxRangeSectors = 1 << 21
)

// Ranger zeroes byte ranges of the backend; punch also releases the
// space (a hole). *os.File is one, through fallocate.
type Ranger interface {
	ZeroRange(off, n int64, punch bool) error
}

// fileRanger zeroes ranges of a file with fallocate, falling back to
// writing zeros where the file system cannot.
type fileRanger struct{ f *os.File }

func (r fileRanger) ZeroRange(off, n int64, punch bool) error {
	mode := uint32(unix.FALLOC_FL_ZERO_RANGE)
	if punch {
		mode = unix.FALLOC_FL_PUNCH_HOLE | unix.FALLOC_FL_KEEP_SIZE
	}
	var err error
	if rc, cerr := r.f.SyscallConn(); cerr == nil {
		cerr = rc.Control(func(fd uintptr) { err = unix.Fallocate(int(fd), mode, off, n) })
		if cerr != nil {
			err = cerr
		}
	}
	if err == nil || !(errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENODEV)) {
		return err
	}
	zeros := make([]byte, min(n, 1<<20))
	for n > 0 {
		k := min(n, int64(len(zeros)))
		if _, err := r.f.WriteAt(zeros[:k], off); err != nil {
			return err
		}
		off, n = off+k, n-k
	}
	return nil
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
	for i := 0; i < len(segs); i += segmentSize {
		sector := binary.LittleEndian.Uint64(segs[i:])
		n := uint64(binary.LittleEndian.Uint32(segs[i+8:]))
		flags := binary.LittleEndian.Uint32(segs[i+12:])
		if n == 0 || n > maxRangeSectors || sector > d.sectors || n > d.sectors-sector || flags&^1 != 0 {
			return errRange
		}
		punch := typ == typeDiscard || flags&1 != 0 // discard, or write-zeroes that may unmap
		if err := d.ranger.ZeroRange(int64(sector*sectorSize), int64(n*sectorSize), punch); err != nil {
			return err
		}
	}
	return nil
}
