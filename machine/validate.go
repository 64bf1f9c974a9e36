package machine

import (
	"errors"
	"fmt"
)

// ErrRestoreMismatch marks a restore whose devices, as given, do not fit
// the snapshot's guest (a disk or NIC too many or too few, another size,
// another read-only flag): the caller's mistake, not the machine's.
var ErrRestoreMismatch = errors.New("the devices given do not fit the snapshot")

// validate checks what a machine of configuration c needs before
// anything is built, for New and for a restore alike: a snapshot's
// configuration is untrusted, and what New refuses must never reach the
// device set-up on another path.
func (c Config) validate() error {
	switch {
	case c.CPUs < 1 || c.CPUs > MaxCPUs:
		return fmt.Errorf("%d vCPUs: want 1 to %d", c.CPUs, MaxCPUs)
	case c.MemSize < MinMemory || c.MemSize%4096 != 0:
		return fmt.Errorf("memory size %d: want a multiple of 4 KiB, at least %d MiB", c.MemSize, MinMemory>>20)
	}
	if n := len(c.virtioDevices()); c.VirtioMMIO && n > len(mmioIRQs()) {
		return fmt.Errorf("%d virtio-mmio devices: at most %d", n, len(mmioIRQs()))
	}
	return nil
}
