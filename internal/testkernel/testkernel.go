// Package testkernel makes tiny but valid bzImages for tests: a boot-protocol
// 2.15 header around caller-supplied 64-bit code, which runs at the 64-bit
// entry point with the boot GDT and page tables and no IDT.
package testkernel

import "encoding/binary"

// BzImage wraps code; initSize (0: the payload's size) is the memory the
// "kernel" claims to need from its load address.
func BzImage(code []byte, initSize uint32) []byte {
	le := binary.LittleEndian
	setup := make([]byte, 2*512) // boot sector + one setup sector
	setup[0x1f1] = 1
	le.PutUint16(setup[0x1fe:], 0xaa55)
	setup[0x200], setup[0x201] = 0xeb, 0x66 // header ends at 0x268
	copy(setup[0x202:], "HdrS")
	le.PutUint16(setup[0x206:], 0x020f)
	setup[0x211] = 1 // loaded high
	le.PutUint32(setup[0x22c:], 0x7fffffff)
	le.PutUint16(setup[0x236:], 3) // 64-bit entry, initrd above 4 GiB
	le.PutUint32(setup[0x238:], 2047)
	le.PutUint32(setup[0x260:], initSize)
	kernel := make([]byte, 0x1000)
	copy(kernel[0x200:], code)
	return append(setup, kernel...)
}

// Guest code fragments (64-bit mode) for vmm's PC platform.
var (
	// PowerOff enters ACPI S5 through PM1a control at port 0x604.
	PowerOff = []byte{0x66, 0xba, 0x04, 0x06, 0x66, 0xb8, 0x00, 0x34, 0x66, 0xef, 0xf4} // mov dx,0x604; mov ax,5<<10|1<<13; out dx,ax; hlt
	// SerialHi writes "hi" to the UART at 0x3f8.
	SerialHi = []byte{0x66, 0xba, 0xf8, 0x03, 0xb0, 'h', 0xee, 0xb0, 'i', 0xee}
	// Booted writes the boot timer's magic value to port 0x440.
	Booted = []byte{0x66, 0xba, 0x40, 0x04, 0xb0, 123, 0xee}
	// KbdReset pulses the reset line through the i8042.
	KbdReset = []byte{0xb0, 0xfe, 0xe6, 0x64, 0xf4}
	// UD2 raises #UD with no IDT: a triple fault.
	UD2 = []byte{0x0f, 0x0b}
	// Count adds one to the 64-bit word at guest address 0x200000 (2 MiB),
	// forever: mov ebx,0x200000; inc qword [rbx]; jmp back to the inc.
	Count = []byte{0xbb, 0x00, 0x00, 0x20, 0x00, 0x48, 0xff, 0x03, 0xeb, 0xfb}
	// Spin loops forever.
	Spin = []byte{0xeb, 0xfe}
)
