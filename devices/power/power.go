// Package power owns the ports behind the hardware-reduced ACPI FADT: the
// sleep control register (offset 0), sleep status (1) and reset register
// (2). Entering S5 through the sleep control register powers the VM off;
// writing the reset value reboots it.
package power

import "sync"

const (
	offSleepControl = 0
	offSleepStatus  = 1
	offReset        = 2
	// Size is how many ports the device spans.
	Size = 3

	slpEn      = 1 << 5
	slpTypMask = 7 << 2
)

// Device reports power-off and reset requests, each at most once.
type Device struct {
	sleepTypeS5 byte
	resetValue  byte
	once        sync.Once
	onPowerOff  func()
	onReset     func()
}

// New makes the device. sleepTypeS5 and resetValue must match what the
// ACPI tables announce.
func New(sleepTypeS5, resetValue byte, onPowerOff, onReset func()) *Device {
	return &Device{sleepTypeS5: sleepTypeS5, resetValue: resetValue, onPowerOff: onPowerOff, onReset: onReset}
}

// Read returns 0 (sleep status: not woken).
func (d *Device) Read(offset uint64, data []byte) {
	for i := range data {
		data[i] = 0
	}
}

// Write handles sleep-control and reset writes.
func (d *Device) Write(offset uint64, data []byte) {
	if len(data) == 0 {
		return
	}
	v := data[0]
	switch offset {
	case offSleepControl:
		if v&slpEn != 0 && (v&slpTypMask)>>2 == d.sleepTypeS5 {
			d.once.Do(d.onPowerOff)
		}
	case offReset:
		if v == d.resetValue {
			d.once.Do(d.onReset)
		}
	}
}
