// Package acpi owns the ACPI tables vmm gives a guest, built as pure byte
// layouts: RSDP, XSDT, a FADT whose PM1a event/control blocks and reset
// register are I/O ports of vmm's power device, a DSDT holding the \_S5
// sleep package (so the guest can power off) and, when asked, a VM
// generation ID device, and a MADT listing one local APIC per vCPU and the
// IOAPIC (so the guest brings every vCPU online).
//
// The FADT is deliberately not hardware-reduced: on x86, Linux then drops
// the legacy PIC and the identity mapping of ISA IRQs, and legacy devices
// such as the 8250 UART on IRQ 4 lose their interrupt.
package acpi

import (
	"encoding/binary"
	"fmt"
)

// Config describes the machine the tables announce.
type Config struct {
	CPUs       int    // 1..255, APIC IDs 0..CPUs-1
	IOAPICAddr uint32 // usually 0xfec00000
	LAPICAddr  uint32 // usually 0xfee00000
	PMPort     uint16 // PM1a event block (4 ports), then PM1a control (2 ports)
	ResetPort  uint16
	ResetValue uint8
	SCI        uint8 // the SCI's ISA IRQ (9 on PCs); vmm never raises it
	VMGenID    *VMGenID
}

// VMGenID places a VM generation ID device (Microsoft's "Virtual Machine
// Generation ID" interface, which Linux's vmgenid driver reads): a 16-byte
// ID in guest memory that the VMM changes whenever the VM is restored
// from a snapshot, and an interrupt that tells the guest to look. Linux
// mixes a new ID into its random number generator and reseeds it at once,
// so that clones of one snapshot do not share their random numbers.
//
// The interrupt reaches the guest through an ACPI Generic Event Device:
// vmm pulses its line, the guest's GED driver runs the device's _EVT
// method, which notifies the ID device.
type VMGenID struct {
	Addr uint64 // guest-physical address of the 16-byte ID (8-byte aligned)
	GSI  uint32 // edge-triggered, active-high line vmm pulses after a change
}

// SleepTypeS5 is the SLP_TYP value the DSDT's \_S5 package announces; the
// guest writes it (shifted left 10, with SLP_EN bit 13) to PM1a control to
// power off.
const SleepTypeS5 = 5

const (
	rsdpSize   = 36
	headerSize = 36
	fadtSize   = 276
)

// Build lays the tables out starting at guest address base (16-byte
// aligned, inside the BIOS area 0xE0000-0xFFFFF so the guest also finds the
// RSDP by scanning). It returns the bytes to copy to base; the RSDP is first.
func Build(base uint64, c Config) ([]byte, error) {
	if c.CPUs < 1 || c.CPUs > 255 {
		return nil, fmt.Errorf("acpi: %d CPUs, want 1..255", c.CPUs)
	}
	if base%16 != 0 || base+0x10000 > 1<<32 {
		return nil, fmt.Errorf("acpi: base %#x must be 16-byte aligned and below 4 GiB", base)
	}
	b := make([]byte, 64) // RSDP, padded
	place := func(t []byte) uint64 {
		for len(b)%16 != 0 {
			b = append(b, 0)
		}
		addr := base + uint64(len(b))
		b = append(b, t...)
		return addr
	}
	if g := c.VMGenID; g != nil && g.Addr%8 != 0 {
		return nil, fmt.Errorf("acpi: VM generation ID at %#x: want an 8-byte aligned address", g.Addr)
	}
	dsdt := place(table("DSDT", 2, dsdtBody(c.VMGenID)))
	fadt := place(table("FACP", 6, fadtBody(dsdt, c)))
	madt := place(table("APIC", 5, madtBody(c)))
	xsdtBody := binary.LittleEndian.AppendUint64(nil, fadt)
	xsdtBody = binary.LittleEndian.AppendUint64(xsdtBody, madt)
	xsdt := place(table("XSDT", 1, xsdtBody))
	copy(b, rsdp(xsdt))
	return b, nil
}

func oem(b []byte) {
	copy(b[10:16], "VMMLAB")
	copy(b[16:24], "VMMLAB  ")
	binary.LittleEndian.PutUint32(b[24:], 1)
	copy(b[28:32], "VMML")
	binary.LittleEndian.PutUint32(b[32:], 1)
}

// table wraps body in a system description header and sets the checksum.
func table(sig string, rev byte, body []byte) []byte {
	t := make([]byte, headerSize, headerSize+len(body))
	copy(t, sig)
	t[8] = rev
	oem(t)
	t = append(t, body...)
	binary.LittleEndian.PutUint32(t[4:], uint32(len(t)))
	t[9] = checksum(t)
	return t
}

func checksum(b []byte) byte {
	var s byte
	for _, x := range b {
		s += x
	}
	return -s
}

func rsdp(xsdt uint64) []byte {
	r := make([]byte, rsdpSize)
	copy(r, "RSD PTR ")
	copy(r[9:15], "VMMLAB")
	r[15] = 2 // ACPI 2.0+
	binary.LittleEndian.PutUint32(r[20:], rsdpSize)
	binary.LittleEndian.PutUint64(r[24:], xsdt)
	r[8] = checksum(r[:20])
	r[32] = checksum(r)
	return r
}

// dsdtBody is the DSDT's AML. In ASL:
//
//	Name (_S5, Package (4) {5, 0, 0, 0})
//	Scope (\_SB) {            // only with a VM generation ID
//		Device (VGEN) {
//			Name (_HID, "VMGENCTR")
//			Name (_DDN, "VM_Gen_Counter")
//			Name (ADDR, Package (2) {addr & 0xffffffff, addr >> 32})
//		}
//		Device (VGED) {
//			Name (_HID, "ACPI0013")   // Generic Event Device
//			Name (_CRS, ResourceTemplate () {
//				Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive) {gsi}
//			})
//			Method (_EVT, 1) { Notify (\_SB.VGEN, 0x80) }
//		}
//	}
func dsdtBody(g *VMGenID) []byte {
	aml := amlName("_S5", amlPackage(amlInteger(SleepTypeS5), amlInteger(0), amlInteger(0), amlInteger(0)))
	if g == nil {
		return aml
	}
	return append(aml, amlScope(`\_SB`,
		amlDevice("VGEN",
			amlName("_HID", amlString("VMGENCTR")),
			amlName("_DDN", amlString("VM_Gen_Counter")),
			amlName("ADDR", amlPackage(amlInteger(g.Addr&0xffffffff), amlInteger(g.Addr>>32)))),
		amlDevice("VGED",
			amlName("_HID", amlString("ACPI0013")),
			amlName("_CRS", amlBuffer(edgeInterrupt(g.GSI))),
			amlMethod("_EVT", 1, amlNotify(`\_SB.VGEN`, 0x80))))...)
}

// gas encodes a Generic Address Structure for an I/O port register of
// the given width in bits.
func gas(port uint16, bits byte) []byte {
	g := make([]byte, 12)
	g[0], g[1] = 1, bits // system I/O
	g[3] = map[byte]byte{8: 1, 16: 2, 32: 3}[bits]
	binary.LittleEndian.PutUint64(g[4:], uint64(port))
	return g
}

const (
	fadtFlagWBINVD    = 1 << 0
	fadtFlagPwrButton = 1 << 4 // no power button
	fadtFlagSlpButton = 1 << 5 // no sleep button
	fadtFlagResetReg  = 1 << 10
	iapcVGANotPresent = 1 << 2 // and no 8042: Linux skips probing one
)

func fadtBody(dsdt uint64, c Config) []byte {
	f := make([]byte, fadtSize-headerSize)
	le := binary.LittleEndian
	at := func(off int) []byte { return f[off-headerSize:] }
	le.PutUint32(at(40), uint32(dsdt))
	le.PutUint16(at(46), uint16(c.SCI))
	// SMI_CMD stays 0: the machine is always in ACPI mode (SCI_EN reads 1).
	le.PutUint32(at(56), uint32(c.PMPort))   // PM1a_EVT_BLK
	le.PutUint32(at(64), uint32(c.PMPort+4)) // PM1a_CNT_BLK
	at(88)[0], at(89)[0] = 4, 2              // PM1_EVT_LEN, PM1_CNT_LEN
	le.PutUint16(at(109), iapcVGANotPresent)
	le.PutUint32(at(112), fadtFlagWBINVD|fadtFlagPwrButton|fadtFlagSlpButton|fadtFlagResetReg)
	copy(at(116), gas(c.ResetPort, 8))
	at(128)[0] = c.ResetValue
	le.PutUint64(at(140), dsdt)
	copy(at(148), gas(c.PMPort, 32))   // X_PM1a_EVT_BLK
	copy(at(172), gas(c.PMPort+4, 16)) // X_PM1a_CNT_BLK
	copy(at(268), "VMMLAB\x00\x00")
	return f
}

func madtBody(c Config) []byte {
	le := binary.LittleEndian
	m := le.AppendUint32(nil, c.LAPICAddr)
	m = le.AppendUint32(m, 1) // PCAT_COMPAT: dual 8259s present
	for i := 0; i < c.CPUs; i++ {
		m = append(m, 0, 8, byte(i), byte(i)) // processor local APIC: UID i, APIC ID i
		m = le.AppendUint32(m, 1)             // enabled
	}
	m = append(m, 1, 12, 0, 0) // IOAPIC id 0
	m = le.AppendUint32(m, c.IOAPICAddr)
	m = le.AppendUint32(m, 0) // GSI base
	// The SCI is level-triggered, active high, on its own GSI.
	m = append(m, 2, 10, 0, c.SCI)
	m = le.AppendUint32(m, uint32(c.SCI))
	m = le.AppendUint16(m, 0x000d)
	m = append(m, 4, 6, 0xff, 0, 0, 1) // local APIC NMI on LINT1 of every CPU
	return m
}
