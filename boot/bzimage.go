package boot

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrNotBzImage is wrapped when a file is not a Linux x86 bzImage.
var ErrNotBzImage = errors.New("not a Linux bzImage")

// Offsets in the real-mode setup header (Documentation/arch/x86/boot.rst).
const (
	hdrSetupSects     = 0x1f1
	hdrBootFlag       = 0x1fe
	hdrJump           = 0x200
	hdrMagic          = 0x202
	hdrVersion        = 0x206
	hdrTypeOfLoader   = 0x210
	hdrLoadflags      = 0x211
	hdrRamdiskImage   = 0x218
	hdrRamdiskSize    = 0x21c
	hdrHeapEndPtr     = 0x224
	hdrCmdLinePtr     = 0x228
	hdrInitrdAddrMax  = 0x22c
	hdrKernelAlign    = 0x230
	hdrRelocatable    = 0x234
	hdrXloadflags     = 0x236
	hdrCmdlineSize    = 0x238
	hdrPrefAddress    = 0x258
	hdrInitSize       = 0x260
	minHeaderProtocol = 0x0206 // cmdline_size; 64-bit entry needs 2.12 (xloadflags)

	loadedHigh   = 1 << 0
	canUseHeap   = 1 << 7
	xlfKernel64  = 1 << 0
	xlfAbove4G   = 1 << 1
	setupEnd     = 0x290 // the setup header may grow up to here in boot_params
	zeroPageSize = 4096
)

// Image is a parsed and validated bzImage.
type Image struct {
	Protocol      uint16 // e.g. 0x020f for 2.15
	SetupSize     int    // bytes of real-mode setup code, boot sector included
	Kernel        []byte // the protected-mode kernel, loaded at KernelAddr
	Relocatable   bool
	Alignment     uint32
	PrefAddress   uint64
	InitSize      uint32 // memory the kernel needs from its load address while decompressing
	InitrdAddrMax uint32 // highest address the initrd may end at (unless XLFAbove4G)
	InitrdAbove4G bool
	CmdlineMax    uint32 // longest command line, without the NUL
	header        []byte // 0x1f1 .. end of header, copied into the zero page
}

// ParseBzImage checks that data is a 64-bit-capable bzImage and splits it
// into setup header and protected-mode kernel. Every field is validated
// against the file's length; malformed input gives an error, never a panic.
//
// u-root's pkg/boot/bzimage (v0.15.0) parses the same header but is not
// used: its UnmarshalBinary decompresses the payload (vmm hands the
// compressed kernel to its own decompressor, as the boot protocol
// intends), runs external decompressors, allocates the sizes the header
// claims before checking them, and panics on a 4 KiB file whose payload
// is 3 bytes of gzip magic (slice bounds out of range: tried). A kernel
// file is untrusted input here.
func ParseBzImage(data []byte) (*Image, error) {
	if len(data) < hdrJump+0x70 {
		return nil, fmt.Errorf("%w: only %d bytes", ErrNotBzImage, len(data))
	}
	le := binary.LittleEndian
	if le.Uint16(data[hdrBootFlag:]) != 0xaa55 || string(data[hdrMagic:hdrMagic+4]) != "HdrS" {
		return nil, fmt.Errorf("%w: no boot sector signature or HdrS magic", ErrNotBzImage)
	}
	im := &Image{Protocol: le.Uint16(data[hdrVersion:])}
	if im.Protocol < minHeaderProtocol {
		return nil, fmt.Errorf("%w: boot protocol %d.%02d is older than 2.06", ErrNotBzImage, im.Protocol>>8, im.Protocol&0xff)
	}
	if data[hdrLoadflags]&loadedHigh == 0 {
		return nil, fmt.Errorf("%w: a zImage (not loaded high) is not supported", ErrNotBzImage)
	}
	sects := int(data[hdrSetupSects])
	if sects == 0 {
		sects = 4
	}
	im.SetupSize = (sects + 1) * 512
	if im.SetupSize >= len(data) {
		return nil, fmt.Errorf("%w: setup (%d bytes) fills the whole %d-byte file", ErrNotBzImage, im.SetupSize, len(data))
	}
	// The header runs from 0x1f1 to 0x202 + the jump's displacement byte.
	hdrEnd := 0x202 + int(data[hdrJump+1])
	if hdrEnd > setupEnd || hdrEnd > im.SetupSize || hdrEnd < hdrMagic+4 {
		return nil, fmt.Errorf("%w: setup header end %#x out of range", ErrNotBzImage, hdrEnd)
	}
	im.header = data[hdrSetupSects:hdrEnd]
	im.Kernel = data[im.SetupSize:]
	im.InitrdAddrMax = le.Uint32(data[hdrInitrdAddrMax:])
	im.CmdlineMax = 255
	if im.Protocol >= 0x0206 {
		im.CmdlineMax = le.Uint32(data[hdrCmdlineSize:])
	}
	if im.Protocol >= 0x0205 {
		im.Relocatable = data[hdrRelocatable] != 0
		im.Alignment = le.Uint32(data[hdrKernelAlign:])
	}
	if im.Protocol < 0x020c || le.Uint16(data[hdrXloadflags:])&xlfKernel64 == 0 {
		return nil, fmt.Errorf("%w: kernel has no 64-bit entry point (boot protocol %d.%02d, needs 2.12 and XLF_KERNEL_64)",
			ErrNotBzImage, im.Protocol>>8, im.Protocol&0xff)
	}
	im.InitrdAbove4G = le.Uint16(data[hdrXloadflags:])&xlfAbove4G != 0
	if im.Protocol >= 0x020a && hdrEnd >= hdrInitSize+4 {
		im.PrefAddress = le.Uint64(data[hdrPrefAddress:])
		im.InitSize = le.Uint32(data[hdrInitSize:])
	}
	if im.InitSize < uint32(len(im.Kernel)) {
		im.InitSize = uint32(len(im.Kernel))
	}
	return im, nil
}
