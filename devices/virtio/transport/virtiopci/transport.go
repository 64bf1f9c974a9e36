// Package virtiopci owns the modern (virtio 1.x) PCI transport: the PCI
// header with virtio vendor capabilities and MSI-X, and BAR0 holding the
// common configuration, notify, ISR, device configuration and MSI-X
// table. It drives any virtio.Device and knows nothing of KVM: interrupts
// leave through an MSI sender the machine provides.
package virtiopci

import (
	"encoding/binary"
	"sync"

	"github.com/vmmlab/vmm/devices/pci"
	"github.com/vmmlab/vmm/devices/virtio"
	"github.com/vmmlab/vmm/devices/virtio/queue"
)

// BAR0 layout.
const (
	BARSize       = 0x8000
	offCommon     = 0x0000
	offISR        = 0x1000
	offDevice     = 0x2000
	offNotify     = 0x3000
	offMSIXTable  = 0x4000
	offMSIXPBA    = 0x5000
	notifyMult    = 4
	commonSize    = 0x38
	deviceCfgSize = 0x1000
	noVector      = virtio.NoVector
)

// MSISender delivers one message-signalled interrupt (KVM_SIGNAL_MSI).
type MSISender interface {
	SignalMSI(address uint64, data uint32) error
}

// Transport is one virtio device on the PCI bus. Its own state (PCI
// config space, MSI-X table, INTx) is guarded by mu, which it may hold
// while calling the core (never the other way round).
type Transport struct {
	mu   sync.Mutex
	core *virtio.Core
	msi  MSISender
	cfg  *pci.Config
	msix int // offset of the MSI-X capability

	configVector uint16
	table        []msixEntry
	intx         Line // nil: no INTx
	intxHigh     bool
}

// Line is a level-triggered interrupt line (INTx): high while the ISR
// has a reason set, low once the driver reads the ISR.
type Line interface {
	SetLevel(high bool) error
}

// SetINTx wires INTA# to line, reported to the guest as IRQ irq in the
// interrupt line register (an ISA IRQ: Linux uses it when ACPI describes
// no routing). Without MSI-X the device interrupts through it.
func (t *Transport) SetINTx(line Line, irq uint8) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.intx = line
	t.cfg.SetInterruptPin(1)
	t.cfg.SetInterruptLine(irq)
}

type msixEntry struct {
	addr    uint64
	data    uint32
	masked  bool
	pending bool
}

// New wraps dev; its BAR0 sits at barAddr (chosen by the machine, as
// firmware would). mem is guest memory for the queues.
func New(dev virtio.Device, mem queue.Memory, msi MSISender, barAddr uint64) *Transport {
	t := &Transport{msi: msi, configVector: noVector}
	t.core = virtio.NewCore(dev, mem, func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		t.configVector = noVector
		// The ISR is clear after a reset: so is INTx. A line left high
		// once made Linux disable a shared IRQ ("nobody cared"), taking
		// the other device on it down too.
		t.updateINTxLocked()
	})
	queues := t.core.NumQueues()
	vectors := queues + 1
	t.table = make([]msixEntry, vectors)
	for i := range t.table {
		t.table[i].masked = true
	}
	class := uint32(0xff0000)
	switch dev.ID() {
	case virtio.IDBlock:
		class = 0x010000
	case virtio.IDNet:
		class = 0x020000
	}
	c := pci.NewConfig(0x1af4, 0x1040+uint16(dev.ID()), class, 1)
	c.SetSubsystem(0x1af4, 0x40)
	c.AddMemBAR64(0, barAddr, BARSize)
	capability := func(typ uint8, off, length uint32, extra ...byte) {
		body := []byte{byte(16 + len(extra)), typ, 0, 0, 0, 0}
		body = binary.LittleEndian.AppendUint32(body, off)
		body = binary.LittleEndian.AppendUint32(body, length)
		c.AddCapability(0x09, append(body, extra...), nil)
	}
	capability(1, offCommon, commonSize)
	capability(2, offNotify, uint32(notifyMult*queues), binary.LittleEndian.AppendUint32(nil, notifyMult)...)
	capability(3, offISR, 1)
	capability(4, offDevice, deviceCfgSize)
	msixBody := binary.LittleEndian.AppendUint16(nil, uint16(vectors-1))
	msixBody = binary.LittleEndian.AppendUint32(msixBody, offMSIXTable) // BIR 0
	msixBody = binary.LittleEndian.AppendUint32(msixBody, offMSIXPBA)
	t.msix = c.AddCapability(0x11, msixBody, []byte{0, 0xc0}) // enable and function-mask bits
	t.cfg = c
	return t
}

// ReadConfig and WriteConfig serve PCI configuration space.
func (t *Transport) ReadConfig(offset uint64, data []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cfg.Read(offset, data)
}

// WriteConfig serves PCI configuration space writes.
func (t *Transport) WriteConfig(offset uint64, data []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cfg.Write(offset, data)
	t.deliverPendingLocked()
	t.updateINTxLocked() // follows MSI-X enable and the interrupt-disable bit
}

func (t *Transport) msixControl() (enabled, masked bool) {
	ctl := binary.LittleEndian.Uint16(t.cfg.Bytes()[t.msix+2:])
	return ctl&0x8000 != 0, ctl&0x4000 != 0
}

// Failure reports why the device stopped working, if it ever did.
func (t *Transport) Failure() error { return t.core.Failure() }
