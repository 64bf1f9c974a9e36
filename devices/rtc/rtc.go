// Package rtc owns the CMOS real-time clock at ports 0x70 (index) and 0x71
// (data): the current time in BCD, status registers that say "valid, not
// updating", and the rest of the 128 bytes of CMOS RAM as plain storage.
package rtc

import (
	"sync"
	"time"
)

const (
	regSeconds = 0x00
	regMinutes = 0x02
	regHours   = 0x04
	regWeekday = 0x06
	regDay     = 0x07
	regMonth   = 0x08
	regYear    = 0x09
	regA       = 0x0a
	regB       = 0x0b
	regC       = 0x0c
	regD       = 0x0d
	regCentury = 0x32
)

// CMOS is the clock. Now supplies the time (UTC); tests replace it.
type CMOS struct {
	mu    sync.Mutex
	index byte
	ram   [128]byte
	now   func() time.Time
}

// New makes a clock that reads the time from now (time.Now when nil).
func New(now func() time.Time) *CMOS {
	if now == nil {
		now = time.Now
	}
	c := &CMOS{now: now}
	c.ram[regA] = 0x26 // 32.768 kHz base, 1024 Hz rate, no update in progress
	c.ram[regB] = 0x02 // 24-hour, BCD, no interrupts
	c.ram[regD] = 0x80 // battery good: time valid
	return c
}

func bcd(v int) byte { return byte(v/10<<4 | v%10) }

// Read handles port 0x70 (offset 0) and 0x71 (offset 1).
func (c *CMOS) Read(offset uint64, data []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var v byte
	if offset == 1 {
		v = c.reg(c.index)
	}
	clear(data)
	if len(data) > 0 {
		data[0] = v
	}
}

func (c *CMOS) reg(i byte) byte {
	t := c.now().UTC()
	switch i {
	case regSeconds:
		return bcd(t.Second())
	case regMinutes:
		return bcd(t.Minute())
	case regHours:
		return bcd(t.Hour())
	case regWeekday:
		return bcd(int(t.Weekday()) + 1)
	case regDay:
		return bcd(t.Day())
	case regMonth:
		return bcd(int(t.Month()))
	case regYear:
		return bcd(t.Year() % 100)
	case regCentury:
		return bcd(t.Year() / 100)
	case regC:
		return 0 // no interrupt flags
	}
	return c.ram[i]
}

// Write selects a register (port 0x70; bit 7 is the NMI mask) or stores
// into CMOS RAM (port 0x71). Time and status C/D writes are ignored.
func (c *CMOS) Write(offset uint64, data []byte) {
	if len(data) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if offset == 0 {
		c.index = data[0] & 0x7f
		return
	}
	switch c.index {
	case regSeconds, regMinutes, regHours, regWeekday, regDay, regMonth, regYear, regCentury, regC, regD:
		return
	case regB:
		c.ram[regB] = data[0]&^0x70 | 0x02 // keep interrupts off and 24-hour mode
		return
	}
	c.ram[c.index] = data[0]
}

// State is the CMOS index register and RAM, for a snapshot (the time
// registers are read from the host's clock, not kept).
type State struct {
	Index byte
	RAM   [128]byte
}

// State reads the clock's state.
func (c *CMOS) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return State{Index: c.index, RAM: c.ram}
}

// Restore puts a snapshot's state back.
func (c *CMOS) Restore(s State) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.index, c.ram = s.Index&0x7f, s.RAM
}
