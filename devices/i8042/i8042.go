// Package i8042 owns a minimal PS/2 controller: enough for the guest's
// keyboard-controller reset (reboot=k writes 0xFE to the command port).
// It registers at port 0x60 and spans to the command port at 0x64.
package i8042

import "sync"

const (
	offData    = 0 // port 0x60
	offCommand = 4 // port 0x64
	cmdReset   = 0xfe
)

// Controller answers status reads with "empty" and reports reset requests.
type Controller struct {
	once    sync.Once
	onReset func()
}

// New makes a controller that calls onReset (once) when the guest pulses
// the reset line.
func New(onReset func()) *Controller { return &Controller{onReset: onReset} }

// Read returns 0: no data waiting, input buffer empty.
func (c *Controller) Read(offset uint64, data []byte) {
	clear(data)
}

// Write handles a command; only the reset pulse does anything.
func (c *Controller) Write(offset uint64, data []byte) {
	if offset == offCommand && len(data) > 0 && data[0] == cmdReset {
		c.once.Do(c.onReset)
	}
}
