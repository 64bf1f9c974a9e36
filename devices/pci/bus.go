package pci

import (
	"encoding/binary"
	"fmt"
	"sync"
)

// Device is a PCI function as configuration space sees it.
type Device interface {
	ReadConfig(offset uint64, data []byte)
	WriteConfig(offset uint64, data []byte)
}

// Ports of configuration mechanism #1.
const (
	AddressPort = 0xcf8
	// Ports is how many ports from AddressPort the bus claims (0xCF8-0xCFF).
	Ports = 8
)

// Bus is bus 0 behind configuration mechanism #1, with a host bridge at
// slot 0. Register it on the port bus at AddressPort.
type Bus struct {
	mu      sync.Mutex
	address uint32
	slots   [32]Device
}

// NewBus makes a bus with the host bridge in slot 0.
func NewBus() *Bus {
	b := &Bus{}
	b.slots[0] = hostBridge{NewConfig(0x8086, 0x29c0, 0x060000, 0)} // a generic Intel host bridge ID
	return b
}

type hostBridge struct{ *Config }

func (h hostBridge) ReadConfig(o uint64, d []byte)  { h.Read(o, d) }
func (h hostBridge) WriteConfig(o uint64, d []byte) { h.Write(o, d) }

// Add places dev in the first free slot and returns the slot number.
func (b *Bus) Add(dev Device) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := 1; i < len(b.slots); i++ {
		if b.slots[i] == nil {
			b.slots[i] = dev
			return i, nil
		}
	}
	return 0, fmt.Errorf("pci: bus 0 is full")
}

// target decodes the address register: the device and register offset it
// selects, or nil for an empty slot, another bus, another function or a
// disabled address.
func (b *Bus) target() (Device, uint64) {
	a := b.address
	if a&0x80000000 == 0 || (a>>16)&0xff != 0 || (a>>8)&0x7 != 0 {
		return nil, 0
	}
	return b.slots[(a>>11)&0x1f], uint64(a & 0xfc)
}

// Read handles a guest read of 0xCF8-0xCFF (offset from 0xCF8).
func (b *Bus) Read(offset uint64, data []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case offset == 0 && len(data) == 4:
		binary.LittleEndian.PutUint32(data, b.address)
	case offset >= 4:
		dev, reg := b.target()
		if dev == nil {
			fill(data, 0xff)
			return
		}
		dev.ReadConfig(reg+offset-4, data)
	default:
		fill(data, 0xff)
	}
}

// Write handles a guest write of 0xCF8-0xCFF.
func (b *Bus) Write(offset uint64, data []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case offset == 0 && len(data) == 4:
		b.address = binary.LittleEndian.Uint32(data)
	case offset >= 4:
		if dev, reg := b.target(); dev != nil {
			dev.WriteConfig(reg+offset-4, data)
		}
	}
}

func fill(b []byte, v byte) {
	for i := range b {
		b[i] = v
	}
}

// Address is the configuration address register (port 0xCF8), for a
// snapshot; SetAddress puts it back. The devices' configuration spaces
// are their own.
func (b *Bus) Address() uint32 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.address
}

// SetAddress: see Address.
func (b *Bus) SetAddress(a uint32) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.address = a
}
