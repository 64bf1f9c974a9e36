package virtiommio

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/vmmlab/vmm/devices/virtio"
	"github.com/vmmlab/vmm/devices/virtio/blk/blktest"
	"github.com/vmmlab/vmm/devices/virtio/queue/queuetest"
)

type irqChan chan struct{}

func (c irqChan) Trigger() error {
	select {
	case c <- struct{}{}:
	default:
	}
	return nil
}

func w(t *Transport, off uint64, v uint32) {
	b := make([]byte, 4)
	binary.LittleEndian.PutUint32(b, v)
	t.Write(off, b)
}

func r(t *Transport, off uint64) uint32 {
	b := make([]byte, 4)
	t.Read(off, b)
	return binary.LittleEndian.Uint32(b)
}

// newBlk makes a transport over blktest's disk.
func newBlk(tt *testing.T, drv *queuetest.Driver, irq IRQ) *Transport {
	tt.Helper()
	return New(blktest.Disk(tt), drv.Mem, irq)
}

// TestDriverSequence does what Linux's virtio_mmio does to bring up a
// device, then reads a sector through it.
func TestDriverSequence(tt *testing.T) {
	drv := queuetest.New(16, 1<<20)
	irq := irqChan(make(chan struct{}, 1))
	t := newBlk(tt, drv, irq)
	if r(t, regMagic) != magic || r(t, regVersion) != 2 || r(t, regDeviceID) != virtio.IDBlock {
		tt.Fatalf("magic %#x version %d id %d", r(t, regMagic), r(t, regVersion), r(t, regDeviceID))
	}
	w(t, regStatus, virtio.StatusAcknowledge|virtio.StatusDriver)
	w(t, regDeviceFeatSel, 1)
	if r(t, regDeviceFeatures)&1 == 0 {
		tt.Fatal("no VERSION_1")
	}
	w(t, regDriverFeatSel, 1)
	w(t, regDriverFeatures, 1)
	w(t, regStatus, virtio.StatusAcknowledge|virtio.StatusDriver|virtio.StatusFeaturesOK)
	if r(t, regStatus)&virtio.StatusFeaturesOK == 0 {
		tt.Fatal("FEATURES_OK refused")
	}
	w(t, regQueueSel, 0)
	if r(t, regQueueReady) != 0 || r(t, regQueueNumMax) != 256 {
		tt.Fatalf("queue 0: ready %d max %d", r(t, regQueueReady), r(t, regQueueNumMax))
	}
	w(t, regQueueSel, 1)
	if r(t, regQueueNumMax) != 0 {
		tt.Fatal("a second queue exists")
	}
	w(t, regQueueSel, 0)
	w(t, regQueueNum, 16)
	q := drv.Queue
	w(t, regQueueDescLow, uint32(q.DescTable))
	w(t, regQueueDescLow+4, uint32(q.DescTable>>32))
	w(t, regQueueAvailLow, uint32(q.AvailRing))
	w(t, regQueueUsedLow, uint32(q.UsedRing))
	if r(t, regQueueUsedLow) != uint32(q.UsedRing) {
		tt.Fatal("used ring address does not read back")
	}
	w(t, regQueueReady, 1)
	w(t, regStatus, virtio.StatusAcknowledge|virtio.StatusDriver|virtio.StatusFeaturesOK|virtio.StatusDriverOK)
	if r(t, regStatus)&virtio.StatusNeedsReset != 0 {
		tt.Fatal("activation failed")
	}

	hdr := make([]byte, 16)
	binary.LittleEndian.PutUint64(hdr[8:], 1)
	head, bufs := drv.Add([][]byte{hdr}, []uint32{512, 1})
	w(t, regQueueNotify, 0)
	select {
	case <-irq:
	case <-time.After(10 * time.Second):
		tt.Fatal("no interrupt")
	}
	if st := r(t, regInterruptStat); st != 1 {
		tt.Fatalf("interrupt status %d, want 1 (used buffer)", st)
	}
	w(t, regInterruptACK, 1)
	if st := r(t, regInterruptStat); st != 0 {
		tt.Fatalf("interrupt status %d after ACK", st)
	}
	if h, _, ok := drv.Used(); !ok || h != head {
		tt.Fatalf("used %d %v", h, ok)
	}
	if drv.Bytes(bufs[1])[0] != 0xab || drv.Bytes(bufs[2])[0] != 0 {
		tt.Fatal("wrong data or status")
	}
	cfg := make([]byte, 8)
	t.Read(regConfig, cfg)
	if binary.LittleEndian.Uint64(cfg) != 8 {
		tt.Fatalf("capacity %d sectors, want 8", binary.LittleEndian.Uint64(cfg))
	}
	w(t, regStatus, 0)
	if r(t, regStatus) != 0 || r(t, regQueueReady) != 0 {
		tt.Fatal("reset did not clear the device")
	}
}

func TestCmdlineArg(t *testing.T) {
	if got := CmdlineArg(0xd0000000, 5); got != "virtio_mmio.device=4K@0xd0000000:5" {
		t.Errorf("%q", got)
	}
}

// Any access of any size anywhere in the window never panics.
func FuzzTransport(f *testing.F) {
	f.Add(uint16(regStatus), uint8(4), uint32(0xf))
	f.Add(uint16(regQueueNotify), uint8(4), uint32(0))
	f.Fuzz(func(tt *testing.T, off uint16, n uint8, v uint32) {
		drv := queuetest.New(16, 1<<20)
		t := newBlk(tt, drv, irqChan(make(chan struct{}, 1)))
		b := make([]byte, int(n%8)+1)
		for i := range b {
			b[i] = byte(v >> (8 * (i % 4)))
		}
		t.Write(uint64(off)%Size, b)
		t.Read(uint64(off)%Size, b)
		w(t, regStatus, 0)
	})
}

func TestDoorbells(tt *testing.T) {
	drv := queuetest.New(16, 1<<20)
	t := newBlk(tt, drv, irqChan(make(chan struct{}, 1)))
	d := t.Doorbells(0xd000_0000)
	if len(d) != 1 || d[0].Addr != 0xd000_0050 || d[0].Len != 4 || d[0].Match == nil || *d[0].Match != 0 {
		tt.Errorf("doorbells %+v", d)
	}
}
