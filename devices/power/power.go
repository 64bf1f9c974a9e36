// Package power owns the ACPI fixed-hardware ports the FADT points at: the
// PM1a event block (status at offset 0, enable at 2), the PM1a control
// register (offset 4) and the reset register (offset 6). Entering S5
// through PM1a control powers the VM off; writing the reset value reboots it.
package power

import (
	"encoding/binary"
	"sync"
)

const (
	offStatus  = 0
	offEnable  = 2
	offControl = 4
	offReset   = 6
	// Size is how many ports the device spans.
	Size = 8

	sciEn      = 1 << 0
	slpEn      = 1 << 13
	slpTypMask = 7 << 10
)

// Device reports power-off and reset requests, each at most once.
type Device struct {
	sleepTypeS5 uint16
	resetValue  byte
	once        sync.Once
	onPowerOff  func()
	onReset     func()

	mu      sync.Mutex
	enable  uint16
	control uint16
}

// New makes the device. sleepTypeS5 and resetValue must match what the
// ACPI tables announce.
func New(sleepTypeS5, resetValue byte, onPowerOff, onReset func()) *Device {
	return &Device{sleepTypeS5: uint16(sleepTypeS5), resetValue: resetValue, onPowerOff: onPowerOff, onReset: onReset}
}

// Read returns the register at offset: status is always clear, SCI_EN is
// always set (the machine is always in ACPI mode).
func (d *Device) Read(offset uint64, data []byte) {
	d.mu.Lock()
	var v uint16
	switch offset {
	case offEnable:
		v = d.enable
	case offControl:
		v = d.control | sciEn
	}
	d.mu.Unlock()
	var b [8]byte
	binary.LittleEndian.PutUint16(b[:], v)
	copy(data, b[:])
}

// Write handles enable, control and reset writes; status writes (to clear
// bits) have nothing to clear.
func (d *Device) Write(offset uint64, data []byte) {
	if len(data) == 0 {
		return
	}
	var b [2]byte
	copy(b[:], data)
	v := binary.LittleEndian.Uint16(b[:])
	switch offset {
	case offEnable:
		d.mu.Lock()
		d.enable = v
		d.mu.Unlock()
	case offControl:
		d.mu.Lock()
		d.control = v &^ slpEn
		d.mu.Unlock()
		if v&slpEn != 0 && (v&slpTypMask)>>10 == d.sleepTypeS5 {
			d.once.Do(d.onPowerOff)
		}
	case offReset:
		if data[0] == d.resetValue {
			d.once.Do(d.onReset)
		}
	}
}
