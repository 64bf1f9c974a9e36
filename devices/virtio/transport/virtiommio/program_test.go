package virtiommio

import (
	"testing"
	"time"

	"github.com/vmmlab/vmm/devices/virtio"
	"github.com/vmmlab/vmm/devices/virtio/blk/blktest"
	"github.com/vmmlab/vmm/devices/virtio/queue/queuetest"
	"github.com/vmmlab/vmm/devices/virtio/virtiotest"
)

func mmioLayout() []virtiotest.Reg {
	var regs []virtiotest.Reg
	for _, off := range []uint64{regDeviceFeatSel, regDriverFeatures, regDriverFeatSel, regQueueSel, regQueueNum,
		regQueueReady, regQueueNotify, regInterruptACK, regStatus, regQueueDescLow, regQueueDescLow + 4,
		regQueueAvailLow, regQueueAvailLow + 4, regQueueUsedLow, regQueueUsedLow + 4, regInterruptStat, regConfigGen, regConfig} {
		regs = append(regs, virtiotest.Reg{Off: off, Size: 4})
	}
	return regs
}

// bringUp is Linux's virtio_mmio probe up to DRIVER_OK, with queue 0 on drv.
func bringUp(t *Transport, drv *queuetest.Driver) {
	w(t, regStatus, virtio.StatusAcknowledge|virtio.StatusDriver)
	w(t, regDriverFeatSel, 1)
	w(t, regDriverFeatures, 1)
	w(t, regStatus, virtio.StatusAcknowledge|virtio.StatusDriver|virtio.StatusFeaturesOK)
	w(t, regQueueSel, 0)
	w(t, regQueueNum, uint32(drv.Queue.Size))
	w(t, regQueueDescLow, uint32(drv.Queue.DescTable))
	w(t, regQueueAvailLow, uint32(drv.Queue.AvailRing))
	w(t, regQueueUsedLow, uint32(drv.Queue.UsedRing))
	w(t, regQueueReady, 1)
	w(t, regStatus, virtio.StatusAcknowledge|virtio.StatusDriver|virtio.StatusFeaturesOK|virtio.StatusDriverOK)
}

// op encodes one program step for the seeds.
func op(vcpu, kind, reg byte, v uint16) []byte {
	return []byte{vcpu<<7 | kind, reg, byte(v), byte(v >> 8)}
}

func regIndex(off uint64) byte {
	for i, r := range mmioLayout() {
		if r.Off == off {
			return byte(i)
		}
	}
	panic("no such register")
}

// FuzzProgram runs register and ring programs on two vCPUs against a
// virtio-blk device on virtio-mmio (go test -fuzz=FuzzProgram -race).
func FuzzProgram(f *testing.F) {
	var live []byte // bring up, then reconfigure the live queue (defect 1)
	live = append(live, op(0, 6, 0, 0)...)
	for i := 0; i < 20; i++ {
		live = append(live, op(0, 4, 0, 0)...)
		live = append(live, op(1, 0, regIndex(regQueueNotify), 0)...)
		live = append(live, op(0, 0, regIndex(regQueueReady), 0)...)
		live = append(live, op(0, 0, regIndex(regQueueNum), 0)...)
		live = append(live, op(0, 0, regIndex(regQueueNum), 16)...)
	}
	f.Add(live)
	var race []byte // one vCPU brings the device up while the other resets it (defect 2)
	for i := 0; i < 20; i++ {
		race = append(race, op(0, 6, 0, 0)...)
		race = append(race, op(1, 0, regIndex(regStatus), 0)...)
		race = append(race, op(0, 4, 0, 0)...)
		race = append(race, op(1, 0, regIndex(regQueueNotify), 0)...)
	}
	f.Add(race)
	f.Add([]byte{6, 0, 0, 0, 0x80, 3, 0xff, 0xff, 0x80, 10, 0xfe, 0xff})
	f.Fuzz(func(tt *testing.T, prog []byte) {
		if len(prog) > 1024 {
			prog = prog[:1024]
		}
		drv := queuetest.New(16, 1<<20)
		t := New(blktest.Disk(tt), drv.Mem, irqChan(make(chan struct{}, 1)))
		virtiotest.Run(tt, virtiotest.Target{Regs: t, Layout: mmioLayout(), Driver: drv,
			BringUp: func() { bringUp(t, drv) }, Reset: func() { w(t, regStatus, 0) }}, prog, 20*time.Second)
	})
}
