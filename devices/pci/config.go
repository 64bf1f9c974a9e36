// Package pci owns PCI emulation for port I/O configuration mechanism #1
// (0xCF8 address, 0xCFC data): a host bridge at 00:00.0, a bus of up to 32
// single-function devices, and a reusable 256-byte configuration space
// with per-bit write masks, BAR sizing and a capability list. Guest writes
// can only change the bits a device declares writable. BARs stay where vmm
// placed them, as firmware would: a guest can size them (write all ones,
// read the mask) but not move them, so a device's MMIO mapping and its
// ioeventfds never go stale.
package pci

import "encoding/binary"

// Standard header offsets.
const (
	offVendor      = 0x00
	offCommand     = 0x04
	offStatus      = 0x06
	offRevision    = 0x08
	offClass       = 0x09 // prog-if, subclass, class
	offHeaderType  = 0x0e
	offBAR0        = 0x10
	offSubVendor   = 0x2c
	offCapPtr      = 0x34
	offIntLine     = 0x3c
	offIntPin      = 0x3d
	statusCapList  = 1 << 4
	commandIO      = 1 << 0
	commandMemory  = 1 << 1
	commandMaster  = 1 << 2
	commandNoINTx  = 1 << 10
	barMem64       = 0x4
	configSize     = 256
	firstCapOffset = 0x40
)

// Config is a type-0 configuration space.
type Config struct {
	data  [configSize]byte
	wmask [configSize]byte // bits the guest may write
	// barSize[i] is the size of BAR i (0: unused); 64-bit BARs use i and
	// i+1. barAddr[i] is where it was placed.
	barSize [6]uint64
	barAddr [6]uint64
	nextCap int // where the next capability goes
	lastCap int // offset of the last capability's next pointer (0: none yet)
}

// NewConfig makes a header for vendor:device with the given class
// (class<<16 | subclass<<8 | prog-if) and revision.
func NewConfig(vendor, device uint16, class uint32, revision uint8) *Config {
	c := &Config{nextCap: firstCapOffset}
	le := binary.LittleEndian
	le.PutUint16(c.data[offVendor:], vendor)
	le.PutUint16(c.data[offVendor+2:], device)
	c.data[offRevision] = revision
	c.data[offClass] = byte(class)
	c.data[offClass+1] = byte(class >> 8)
	c.data[offClass+2] = byte(class >> 16)
	le.PutUint16(c.wmask[offCommand:], commandIO|commandMemory|commandMaster|commandNoINTx)
	c.wmask[offIntLine] = 0xff
	return c
}

// SetSubsystem sets the subsystem vendor and ID.
func (c *Config) SetSubsystem(vendor, id uint16) {
	binary.LittleEndian.PutUint16(c.data[offSubVendor:], vendor)
	binary.LittleEndian.PutUint16(c.data[offSubVendor+2:], id)
}

// SetInterruptPin sets INTA# (1) .. INTD# (4), or 0 for none.
func (c *Config) SetInterruptPin(pin uint8) { c.data[offIntPin] = pin }

// SetInterruptLine sets the interrupt line register, as firmware does to
// tell the OS which IRQ the pin is wired to.
func (c *Config) SetInterruptLine(irq uint8) { c.data[offIntLine] = irq }

// INTxDisabled reports the command register's interrupt-disable bit.
func (c *Config) INTxDisabled() bool { return c.Command()&commandNoINTx != 0 }

// AddMemBAR64 declares BAR i (and i+1) as a 64-bit memory BAR of size bytes
// (a power of two, at least 16) placed at addr, as firmware would have
// assigned it.
func (c *Config) AddMemBAR64(i int, addr, size uint64) {
	c.barSize[i] = size
	mask := ^(size - 1)
	c.barAddr[i] = addr & mask
	le := binary.LittleEndian
	le.PutUint64(c.data[offBAR0+4*i:], addr&mask|barMem64)
	le.PutUint64(c.wmask[offBAR0+4*i:], mask&^0xf)
}

// BAR returns the current address of memory BAR i.
func (c *Config) BAR(i int) uint64 {
	v := binary.LittleEndian.Uint64(c.data[offBAR0+4*i:])
	return v &^ 0xf
}

// AddCapability appends a capability with the given ID and body (the bytes
// after the ID and next pointer); writable marks body bytes the guest may
// write (nil: none). It returns the capability's offset.
func (c *Config) AddCapability(id uint8, body, writable []byte) int {
	off := c.nextCap
	if off+2+len(body) > configSize {
		panic("pci: capabilities overflow the configuration space") // device set-up bug, not guest input
	}
	c.data[off] = id
	copy(c.data[off+2:], body)
	copy(c.wmask[off+2:], writable)
	if c.lastCap == 0 {
		c.data[offCapPtr] = byte(off)
		binary.LittleEndian.PutUint16(c.data[offStatus:], binary.LittleEndian.Uint16(c.data[offStatus:])|statusCapList)
	} else {
		c.data[c.lastCap] = byte(off)
	}
	c.lastCap = off + 1
	c.nextCap = (off + 2 + len(body) + 3) &^ 3
	return off
}

// Bytes gives the device direct access to its configuration space (for
// registers it updates itself, such as capability contents).
func (c *Config) Bytes() []byte { return c.data[:] }

// Read fills data from offset; bytes past the end read as all ones.
func (c *Config) Read(offset uint64, data []byte) {
	for i := range data {
		data[i] = 0xff
		if o := offset + uint64(i); o < configSize {
			data[i] = c.data[o]
		}
	}
}

// Write stores data at offset, changing only writable bits; bytes past the
// end are ignored.
func (c *Config) Write(offset uint64, data []byte) {
	for i, v := range data {
		o := offset + uint64(i)
		if o >= configSize {
			return
		}
		m := c.wmask[o]
		c.data[o] = c.data[o]&^m | v&m
	}
	c.pinBARs()
}

// pinBARs keeps every BAR dword at its placed address unless the guest is
// sizing it (all its writable bits set), which reads back the size mask
// until the guest writes the address back.
func (c *Config) pinBARs() {
	le := binary.LittleEndian
	for i, size := range c.barSize {
		if size == 0 {
			continue
		}
		placed := c.barAddr[i] | barMem64
		for half := 0; half < 2; half++ {
			off := offBAR0 + 4*i + 4*half
			mask := le.Uint32(c.wmask[off:])
			if le.Uint32(c.data[off:])&mask == mask {
				continue // a sizing probe
			}
			le.PutUint32(c.data[off:], uint32(placed>>(32*half)))
		}
	}
}

// Command returns the command register.
func (c *Config) Command() uint16 { return binary.LittleEndian.Uint16(c.data[offCommand:]) }
