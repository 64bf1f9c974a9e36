package virtiopci

import (
	"encoding/binary"
	"testing"

	"github.com/vmmlab/vmm/devices/virtio/queue/queuetest"
)

// A live device's PCI state (command register, MSI-X enable and table)
// and core state come back in a fresh transport, whose device then
// serves the queue and interrupts through the restored vector.
func TestStateRoundTrip(tt *testing.T) {
	drv := queuetest.New(16, 1<<20)
	msi := msiRecorder(make(chan [2]uint64, 4))
	t := newBlk(tt, drv, msi)
	t.WriteConfig(4, []byte{0x06, 0}) // memory space and bus master
	capOff := uint64(t.msix)
	t.WriteConfig(capOff+2, []byte{0, 0x80}) // MSI-X on
	w(t, offMSIXTable+16, 0xfee01000, 4)     // vector 1
	w(t, offMSIXTable+24, 0x42, 4)
	w(t, offMSIXTable+28, 0, 4) // unmasked
	activate(tt, t, drv)
	w(t, 0x16, 0, 2)
	w(t, 0x1a, 1, 2) // queue 0 -> vector 1
	t.Quiesce()
	core, pci := t.State(), t.PCIState()
	t.core.Device().Reset() // the old device is gone, as in another process

	t2 := newBlk(tt, drv, msi)
	if err := t2.Restore(core, pci); err != nil {
		tt.Fatal(err)
	}
	if cfg32(t2, 4)&0xffff != 0x06 || binary.LittleEndian.Uint16(t2.cfg.Bytes()[t2.msix+2:])&0x8000 == 0 {
		tt.Fatalf("restored command %#x, MSI-X control %#x", cfg32(t2, 4), binary.LittleEndian.Uint16(t2.cfg.Bytes()[t2.msix+2:]))
	}
	if cfg32(t2, 0x10) != 0xc0000004 {
		tt.Fatalf("BAR0 moved to %#x", cfg32(t2, 0x10))
	}
	// A read request through the restored device: served, interrupt on vector 1.
	req := make([]byte, 16) // type 0 (read), sector 0
	drv.Add([][]byte{req}, []uint32{512, 1})
	t2.Notify(0)
	if got := <-msi; got != [2]uint64{0xfee01000, 0x42} {
		tt.Fatalf("interrupt %#x, want vector 1's", got)
	}
	bad := pci
	bad.Table = bad.Table[:1]
	if err := newBlk(tt, drv, msi).Restore(core, bad); err == nil {
		tt.Fatal("a state with too few MSI-X vectors was restored")
	}
}
