package virtiopci

import (
	"testing"
	"time"

	"github.com/vmmlab/vmm/devices/virtio"
	"github.com/vmmlab/vmm/devices/virtio/queue/queuetest"
	"github.com/vmmlab/vmm/devices/virtio/virtiotest"
)

// pciLayout is the common configuration, the notify and ISR registers and
// the first MSI-X entry.
func pciLayout() []virtiotest.Reg {
	regs := []virtiotest.Reg{{Off: 0x00, Size: 4}, {Off: 0x08, Size: 4}, {Off: 0x0c, Size: 4}, {Off: 0x10, Size: 2}, {Off: 0x14, Size: 1}, {Off: 0x16, Size: 2}, {Off: 0x18, Size: 2}, {Off: 0x1a, Size: 2}, {Off: 0x1c, Size: 2},
		{Off: 0x20, Size: 4}, {Off: 0x24, Size: 4}, {Off: 0x28, Size: 4}, {Off: 0x2c, Size: 4}, {Off: 0x30, Size: 4}, {Off: 0x34, Size: 4}, {Off: 0x20, Size: 8},
		{Off: offNotify, Size: 2}, {Off: offISR, Size: 1}, {Off: offMSIXTable, Size: 4}, {Off: offMSIXTable + 8, Size: 4}, {Off: offMSIXTable + 12, Size: 4}, {Off: offDevice, Size: 4}}
	return regs
}

// bringUp is Linux's virtio_pci probe up to DRIVER_OK, with queue 0 on drv.
func bringUp(t *Transport, drv *queuetest.Driver) {
	w(t, 0x14, virtio.StatusAcknowledge|virtio.StatusDriver, 1)
	w(t, 0x08, 1, 4)
	w(t, 0x0c, 1, 4)
	w(t, 0x14, virtio.StatusAcknowledge|virtio.StatusDriver|virtio.StatusFeaturesOK, 1)
	w(t, 0x16, 0, 2)
	w(t, 0x18, uint64(drv.Queue.Size), 2)
	w(t, 0x20, drv.Queue.DescTable, 8)
	w(t, 0x28, drv.Queue.AvailRing, 8)
	w(t, 0x30, drv.Queue.UsedRing, 8)
	w(t, 0x1c, 1, 2)
	w(t, 0x14, virtio.StatusAcknowledge|virtio.StatusDriver|virtio.StatusFeaturesOK|virtio.StatusDriverOK, 1)
}

// msiDrop accepts every MSI (a recorder's channel would fill up and block).
type msiDrop struct{}

func (msiDrop) SignalMSI(uint64, uint32) error { return nil }

func pciOp(vcpu, kind, reg byte, v uint16) []byte {
	return []byte{vcpu<<7 | kind, reg, byte(v), byte(v >> 8)}
}

// FuzzProgram runs register and ring programs on two vCPUs against a
// virtio-blk device on virtio-pci (go test -fuzz=FuzzProgram -race).
func FuzzProgram(f *testing.F) {
	const status, qsize, qenable, notify = 4, 6, 8, 16 // indexes into pciLayout
	var live []byte                                    // bring up, then reconfigure the live queue (defect 1)
	live = append(live, pciOp(0, 6, 0, 0)...)
	for i := 0; i < 20; i++ {
		live = append(live, pciOp(0, 4, 0, 0)...)
		live = append(live, pciOp(1, 0, notify, 0)...)
		live = append(live, pciOp(0, 0, qenable, 0)...)
		live = append(live, pciOp(0, 0, qsize, 0)...)
		live = append(live, pciOp(0, 0, qsize, 16)...)
	}
	f.Add(live)
	var race []byte // one vCPU brings the device up while the other resets it (defect 2)
	for i := 0; i < 20; i++ {
		race = append(race, pciOp(0, 6, 0, 0)...)
		race = append(race, pciOp(1, 0, status, 0)...)
		race = append(race, pciOp(0, 4, 0, 0)...)
		race = append(race, pciOp(1, 0, notify, 0)...)
	}
	f.Add(race)
	f.Fuzz(func(tt *testing.T, prog []byte) {
		if len(prog) > 1024 {
			prog = prog[:1024]
		}
		drv := queuetest.New(16, 1<<20)
		t := newBlk(tt, drv, msiDrop{})
		virtiotest.Run(tt, virtiotest.Target{Regs: t, Layout: pciLayout(), Driver: drv,
			BringUp: func() { bringUp(t, drv) }, Reset: func() { w(t, 0x14, 0, 1) }}, prog, 20*time.Second)
	})
}
