package machine

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/vmmlab/vmm/acpi"
)

// The VM generation ID (acpi.VMGenID): 16 random bytes in the BIOS area
// that vmm writes at boot and writes anew at every restore, then pulses
// the Generic Event Device's line so that the guest rereads them. Linux
// mixes a changed ID into its random number generator and reseeds it
// before it hands out another random byte, so two clones of one snapshot
// draw different random numbers from then on.
const (
	vmgenidAddr = acpiBase + 0xf000 // after the tables, in the reserved BIOS area
	vmgenidGSI  = 16                // an IOAPIC line no other device uses
)

func vmgenidConfig() *acpi.VMGenID { return &acpi.VMGenID{Addr: vmgenidAddr, GSI: vmgenidGSI} }

// writeGenerationID puts a fresh random ID in guest memory.
func (m *Machine) writeGenerationID() error {
	var id [16]byte
	// getrandom(2) directly: crypto/rand would add to every VM's binary
	// (see cmd/vmm's dependency test). 16 bytes never come back short.
	if n, err := unix.Getrandom(id[:], 0); err != nil || n != len(id) {
		return fmt.Errorf("VM generation ID: getrandom: %d bytes, %v", n, err)
	}
	if err := m.mem.Write(vmgenidAddr, id[:]); err != nil {
		return fmt.Errorf("VM generation ID: %w", err)
	}
	return nil
}

// changeGenerationID gives a restored guest a new ID and tells it so.
func (m *Machine) changeGenerationID() error {
	if err := m.writeGenerationID(); err != nil {
		return err
	}
	if err := (irqLine{m.vm, vmgenidGSI}).Trigger(); err != nil {
		return fmt.Errorf("VM generation ID interrupt: %w", err)
	}
	return nil
}
