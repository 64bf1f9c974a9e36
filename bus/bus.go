// Package bus owns address-space dispatch: a Bus maps non-overlapping
// address ranges to devices and forwards each access to its device with the
// offset relative to the device's base. Port I/O and MMIO are two buses of
// the same shape.
package bus

import (
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
)

// Device is a device model on a bus. data is the access (1, 2, 4 or 8 bytes,
// little-endian): Read fills it, Write consumes it. offset is relative to
// the device's base address.
type Device interface {
	Read(offset uint64, data []byte)
	Write(offset uint64, data []byte)
}

type mapping struct {
	base, size uint64
	name       string
	dev        Device
}

// Bus is safe for concurrent accesses from several vCPUs; a device that
// keeps state must lock it itself.
type Bus struct {
	mu   sync.RWMutex
	maps []mapping // sorted by base
	// unhandled is counted without the lock: a guest hammering an empty
	// port must not make every vCPU contend for the bus's write lock.
	unhandled atomic.Uint64
}

// Register maps [base, base+size) to dev. Overlapping an existing mapping
// or wrapping around the address space is an error.
func (b *Bus) Register(name string, base, size uint64, dev Device) error {
	if size == 0 || base+size < base {
		return fmt.Errorf("bus: %s at %#x+%#x: empty or wrapping range", name, base, size)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	i := sort.Search(len(b.maps), func(i int) bool { return b.maps[i].base >= base })
	if i > 0 && b.maps[i-1].base+b.maps[i-1].size > base {
		p := b.maps[i-1]
		return fmt.Errorf("bus: %s at %#x+%#x overlaps %s at %#x+%#x", name, base, size, p.name, p.base, p.size)
	}
	if i < len(b.maps) && base+size > b.maps[i].base {
		n := b.maps[i]
		return fmt.Errorf("bus: %s at %#x+%#x overlaps %s at %#x+%#x", name, base, size, n.name, n.base, n.size)
	}
	b.maps = append(b.maps, mapping{})
	copy(b.maps[i+1:], b.maps[i:])
	b.maps[i] = mapping{base: base, size: size, name: name, dev: dev}
	return nil
}

func (b *Bus) find(addr uint64, n int) (mapping, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	i := sort.Search(len(b.maps), func(i int) bool { return b.maps[i].base+b.maps[i].size > addr })
	if i == len(b.maps) || addr < b.maps[i].base {
		return mapping{}, false
	}
	m := b.maps[i]
	if uint64(n) > m.base+m.size-addr { // access runs past the device's end
		return mapping{}, false
	}
	return m, true
}

// Read dispatches a read. An access that hits no device (or straddles a
// device's end) reads as all ones, like an empty ISA/PCI slot, and returns false.
func (b *Bus) Read(addr uint64, data []byte) bool {
	m, ok := b.find(addr, len(data))
	if !ok {
		for i := range data {
			data[i] = 0xff
		}
		b.countUnhandled()
		return false
	}
	m.dev.Read(addr-m.base, data)
	return true
}

// Write dispatches a write; one that hits no device is dropped and returns false.
func (b *Bus) Write(addr uint64, data []byte) bool {
	m, ok := b.find(addr, len(data))
	if !ok {
		b.countUnhandled()
		return false
	}
	m.dev.Write(addr-m.base, data)
	return true
}

func (b *Bus) countUnhandled() { b.unhandled.Add(1) }

// Unhandled counts accesses that hit no device.
func (b *Bus) Unhandled() uint64 { return b.unhandled.Load() }

// Name is the name of the device registered at addr ("" if none).
func (b *Bus) Name(addr uint64) string {
	if m, ok := b.find(addr, 1); ok {
		return m.name
	}
	return ""
}

// Mapping is one device's range on the bus.
type Mapping struct {
	Name       string
	Base, Size uint64
}

// Mappings lists the devices' ranges in address order.
func (b *Bus) Mappings() []Mapping {
	b.mu.RLock()
	defer b.mu.RUnlock()
	out := make([]Mapping, len(b.maps))
	for i, m := range b.maps {
		out[i] = Mapping{m.name, m.base, m.size}
	}
	return out
}
