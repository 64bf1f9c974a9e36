// Package virtiommio owns the virtio-mmio transport (version 2, virtio
// 1.x): a 4 KiB register window per device and one interrupt line, for
// minimal kernels without PCI. The kernel learns of each device from its
// command line (virtio_mmio.device=4K@ADDR:IRQ, see CmdlineArg). It
// drives any virtio.Device and knows nothing of KVM: the machine provides
// the interrupt line.
package virtiommio

import (
	"encoding/binary"
	"fmt"

	"github.com/vmmlab/vmm/devices/virtio"
	"github.com/vmmlab/vmm/devices/virtio/queue"
)

// Size is the register window of one device.
const Size = 0x1000

// Register offsets.
const (
	regMagic          = 0x000
	regVersion        = 0x004
	regDeviceID       = 0x008
	regVendorID       = 0x00c
	regDeviceFeatures = 0x010
	regDeviceFeatSel  = 0x014
	regDriverFeatures = 0x020
	regDriverFeatSel  = 0x024
	regQueueSel       = 0x030
	regQueueNumMax    = 0x034
	regQueueNum       = 0x038
	regQueueReady     = 0x044
	regQueueNotify    = 0x050
	regInterruptStat  = 0x060
	regInterruptACK   = 0x064
	regStatus         = 0x070
	regQueueDescLow   = 0x080 // then DescHigh, and the driver (avail)
	regQueueAvailLow  = 0x090 // and device (used) rings at 0x0a0,
	regQueueUsedLow   = 0x0a0 // each as a low/high pair
	regShmLenLow      = 0x0b0
	regShmLenHigh     = 0x0b4
	regConfigGen      = 0x0fc
	regConfig         = 0x100

	magic   = 0x74726976 // "virt"
	version = 2
	vendor  = 0x00564d4d // "MMV\0": vmm
)

// IRQ raises the device's interrupt line (an edge; the driver reads the
// interrupt status to learn why).
type IRQ interface {
	Trigger() error
}

// Transport is one virtio device on the MMIO bus.
type Transport struct {
	core *virtio.Core
	irq  IRQ
}

// New wraps dev; mem is guest memory for its queues, irq its line.
func New(dev virtio.Device, mem queue.Memory, irq IRQ) *Transport {
	return &Transport{core: virtio.NewCore(dev, mem, nil), irq: irq}
}

// CmdlineArg announces a device at addr with interrupt gsi to Linux
// (CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES).
func CmdlineArg(addr uint64, gsi uint32) string {
	return fmt.Sprintf("virtio_mmio.device=4K@%#x:%d", addr, gsi)
}

// Read serves a guest read of the register window.
func (t *Transport) Read(offset uint64, data []byte) {
	clear(data)
	if offset >= regConfig {
		t.core.Device().ReadConfig(offset-regConfig, data)
		return
	}
	if len(data) != 4 || offset%4 != 0 {
		return // registers are 32 bits wide: other accesses read zero
	}
	binary.LittleEndian.PutUint32(data, t.register(offset))
}

func (t *Transport) register(offset uint64) uint32 {
	c := t.core
	switch offset {
	case regMagic:
		return magic
	case regVersion:
		return version
	case regDeviceID:
		return c.Device().ID()
	case regVendorID:
		return vendor
	case regDeviceFeatures:
		return c.DeviceFeatureWord()
	case regQueueNumMax:
		max, _, _, _, _ := c.Selected()
		return uint32(max)
	case regQueueReady:
		if _, _, ready, _, _ := c.Selected(); ready {
			return 1
		}
	case regInterruptStat:
		return uint32(c.ISR())
	case regStatus:
		return uint32(c.Status())
	case regShmLenLow, regShmLenHigh:
		return 0xffffffff // no shared memory regions
	case regConfigGen:
		return uint32(c.Generation())
	case regQueueDescLow, regQueueDescLow + 4, regQueueAvailLow, regQueueAvailLow + 4, regQueueUsedLow, regQueueUsedLow + 4:
		return c.QueueAddr(int(offset-regQueueDescLow)/16, int(offset%8)/4)
	}
	return 0
}

// Write serves a guest write of the register window.
func (t *Transport) Write(offset uint64, data []byte) {
	if offset >= regConfig {
		t.core.Device().WriteConfig(offset-regConfig, data)
		return
	}
	if len(data) != 4 || offset%4 != 0 {
		return // ignored, as the spec lets a device do
	}
	v := binary.LittleEndian.Uint32(data)
	c := t.core
	switch offset {
	case regStatus:
		c.SetStatus(uint8(v), interrupts{t})
	case regQueueNotify:
		c.Notify(int(v & 0xffff))
	case regDeviceFeatSel:
		c.SetDeviceFeatureSelect(v)
	case regDriverFeatures:
		c.SetDriverFeatureWord(v)
	case regDriverFeatSel:
		c.SetDriverFeatureSelect(v)
	case regQueueSel:
		c.SelectQueue(v)
	case regQueueNum:
		c.SetQueueSize(uint16(min(v, 0xffff)))
	case regQueueReady:
		c.SetQueueReady(v&1 != 0)
	case regInterruptACK:
		c.AckISR(uint8(v))
	case regQueueDescLow, regQueueDescLow + 4, regQueueAvailLow, regQueueAvailLow + 4, regQueueUsedLow, regQueueUsedLow + 4:
		c.SetQueueAddr(int(offset-regQueueDescLow)/16, int(offset%8)/4, v)
	}
}

// interrupts is what the device calls to interrupt the driver.
type interrupts struct{ t *Transport }

func (i interrupts) Queue(n int) error { return i.t.raise(false) }
func (i interrupts) Config() error     { return i.t.raise(true) }

func (t *Transport) raise(config bool) error {
	t.core.Raise(config)
	if err := t.irq.Trigger(); err != nil {
		t.core.NoteFailure(fmt.Errorf("interrupt: %w", err))
		return err
	}
	return nil
}

// Doorbells lists the queues' notifications with the window at base: all
// share QueueNotify, written with 4 bytes holding the queue index.
func (t *Transport) Doorbells(base uint64) []virtio.Doorbell {
	d := make([]virtio.Doorbell, t.core.NumQueues())
	for q := range d {
		match := uint64(q)
		d[q] = virtio.Doorbell{Addr: base + regQueueNotify, Len: 4, Match: &match, Queue: q}
	}
	return d
}

// Notify passes a notification of queue q (from a doorbell eventfd).
func (t *Transport) Notify(q int) { t.core.Notify(q) }

// Failure reports why the device stopped working, if it ever did.
func (t *Transport) Failure() error { return t.core.Failure() }

// Quiesce stops the device's goroutines for a snapshot; Restart starts
// them again where they stopped.
func (t *Transport) Quiesce() { t.core.Quiesce() }

// Restart: see Quiesce.
func (t *Transport) Restart() error { return t.core.Restart() }

// State is the transport's state for a snapshot (virtio-mmio keeps none
// beyond the core's: its interrupt line's level is the irqchip's).
func (t *Transport) State() virtio.CoreState { return t.core.State() }

// Restore puts a snapshot's state into a fresh transport (see
// virtio.Core.Restore).
func (t *Transport) Restore(s virtio.CoreState) error { return t.core.Restore(s, interrupts{t}) }
