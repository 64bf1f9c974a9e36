// Package virtiotest runs fuzz programs against a virtio transport: a
// program is a sequence of register writes and reads, ring updates and
// driver bring-ups, split between two simulated vCPUs that run at the same
// time as the device's own goroutine. Single accesses never found the bugs
// that need a sequence (enable=0, size=0, size=16 on a live queue) or two
// vCPUs (a reset racing an activation); programs do.
package virtiotest

import (
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"github.com/vmmlab/vmm/devices/virtio/queue/queuetest"
)

// Registers is a transport's register window.
type Registers interface {
	Read(offset uint64, data []byte)
	Write(offset uint64, data []byte)
}

// Reg is a register a program may access.
type Reg struct {
	Off  uint64
	Size int
}

// Target is what a program runs against.
type Target struct {
	Regs Registers
	// Layout lists the registers; an op's register byte picks one.
	Layout []Reg
	// BringUp does what a driver does up to DRIVER_OK (on the calling
	// simulated vCPU).
	BringUp func()
	// Reset writes device_status 0.
	Reset func()
	// Driver is the fake guest driver of queue 0.
	Driver *queuetest.Driver
}

// Each op is four bytes: kind (bit 7: which vCPU), register, and a 16-bit
// value; value 0xffff stands for the driver's descriptor table address,
// 0xfffe for its available ring, 0xfffd for its used ring.
const opSize = 4

// Run runs prog against t and fails tb if a vCPU or the final reset does
// not finish within limit (a hang). A panic anywhere fails the fuzz
// target by itself; run under -race to find unsynchronised accesses.
func Run(tb testing.TB, t Target, prog []byte, limit time.Duration) {
	var vcpus [2][]byte
	for i := 0; i+opSize <= len(prog); i += opSize {
		op := prog[i : i+opSize]
		vcpus[op[0]>>7] = append(vcpus[op[0]>>7], op...)
	}
	var ringMu sync.Mutex // the fake driver is one guest driver: one ring update at a time
	var wg sync.WaitGroup
	for _, ops := range vcpus {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i+opSize <= len(ops); i += opSize {
				step(t, ops[i:i+opSize], &ringMu)
			}
		}()
	}
	if !finishes(func() { wg.Wait() }, limit) {
		tb.Fatalf("a simulated vCPU hung in a register access")
	}
	if !finishes(t.Reset, limit) {
		tb.Fatalf("resetting the device hung")
	}
}

func step(t Target, op []byte, ringMu *sync.Mutex) {
	v := uint64(binary.LittleEndian.Uint16(op[2:]))
	q := t.Driver.Queue
	switch v {
	case 0xffff:
		v = q.DescTable
	case 0xfffe:
		v = q.AvailRing
	case 0xfffd:
		v = q.UsedRing
	}
	reg := t.Layout[int(op[1])%len(t.Layout)]
	buf := make([]byte, reg.Size)
	switch op[0] & 0x7f % 8 {
	case 0, 1, 2: // the most common: a register write
		for i := range buf {
			buf[i] = byte(v >> (8 * i))
		}
		t.Regs.Write(reg.Off, buf)
	case 3:
		t.Regs.Read(reg.Off, buf)
	case 4, 5: // a request: a 16-byte header, a data buffer, a status byte
		ringMu.Lock()
		hdr := make([]byte, 16)
		hdr[0], hdr[8] = op[1]%2, op[2]%8 // read or write, a sector
		t.Driver.Add([][]byte{hdr}, []uint32{512, 1})
		ringMu.Unlock()
	case 6:
		t.BringUp()
	case 7:
		t.Reset()
	}
}

func finishes(f func(), limit time.Duration) bool {
	done := make(chan struct{})
	go func() { f(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(limit):
		return false
	}
}
