package acpi

import (
	"encoding/binary"
	"strings"
)

// The few AML (ACPI Machine Language) encodings the DSDT needs, from the
// ACPI specification's chapter 20 grammar. Each returns the encoded term;
// nesting is by passing terms as the body of another.

const (
	amlZero      = 0x00
	amlOne       = 0x01
	amlNameOp    = 0x08
	amlBytePfx   = 0x0a
	amlWordPfx   = 0x0b
	amlDWordPfx  = 0x0c
	amlStringPfx = 0x0d
	amlQWordPfx  = 0x0e
	amlScopeOp   = 0x10
	amlBufferOp  = 0x11
	amlPackageOp = 0x12
	amlMethodOp  = 0x14
	amlDualPfx   = 0x2e
	amlMultiPfx  = 0x2f
	amlExtOpPfx  = 0x5b
	amlDeviceOp  = 0x82 // after amlExtOpPfx
	amlRootChar  = '\\'
	amlNotifyOp  = 0x86
)

// pkgLength prefixes body with its PkgLength: the length of the
// encoding itself plus the body, in one to four bytes.
func pkgLength(body []byte) []byte {
	n := len(body)
	switch {
	case n+1 < 1<<6:
		return append([]byte{byte(n + 1)}, body...)
	case n+2 < 1<<12:
		t := n + 2
		return append([]byte{0x40 | byte(t&0xf), byte(t >> 4)}, body...)
	case n+3 < 1<<20:
		t := n + 3
		return append([]byte{0x80 | byte(t&0xf), byte(t >> 4), byte(t >> 12)}, body...)
	default:
		t := n + 4 // the grammar's limit is 2^28; the DSDT is far smaller
		return append([]byte{0xc0 | byte(t&0xf), byte(t >> 4), byte(t >> 12), byte(t >> 20)}, body...)
	}
}

// nameSeg is one four-character name segment, padded with '_' (the
// names are this package's constants, upper case, at most four long).
func nameSeg(s string) []byte {
	return []byte((s + "____")[:4])
}

// namePath encodes a name: segments separated by dots, from the root
// when it starts with a backslash.
func namePath(p string) []byte {
	var b []byte
	if strings.HasPrefix(p, `\`) {
		b, p = append(b, amlRootChar), p[1:]
	}
	segs := strings.Split(p, ".")
	switch len(segs) {
	case 1:
	case 2:
		b = append(b, amlDualPfx)
	default:
		b = append(b, amlMultiPfx, byte(len(segs)))
	}
	for _, s := range segs {
		b = append(b, nameSeg(s)...)
	}
	return b
}

// amlInteger encodes the smallest constant that holds v.
func amlInteger(v uint64) []byte {
	le := binary.LittleEndian
	switch {
	case v == 0:
		return []byte{amlZero}
	case v == 1:
		return []byte{amlOne}
	case v <= 0xff:
		return []byte{amlBytePfx, byte(v)}
	case v <= 0xffff:
		return le.AppendUint16([]byte{amlWordPfx}, uint16(v))
	case v <= 0xffffffff:
		return le.AppendUint32([]byte{amlDWordPfx}, uint32(v))
	}
	return le.AppendUint64([]byte{amlQWordPfx}, v)
}

func amlString(s string) []byte {
	return append(append([]byte{amlStringPfx}, s...), 0)
}

func amlName(name string, value []byte) []byte {
	return append(append([]byte{amlNameOp}, nameSeg(name)...), value...)
}

func amlPackage(elems ...[]byte) []byte {
	body := []byte{byte(len(elems))}
	for _, e := range elems {
		body = append(body, e...)
	}
	return append([]byte{amlPackageOp}, pkgLength(body)...)
}

func amlBuffer(data []byte) []byte {
	body := append(amlInteger(uint64(len(data))), data...)
	return append([]byte{amlBufferOp}, pkgLength(body)...)
}

func amlScope(path string, terms ...[]byte) []byte {
	return append([]byte{amlScopeOp}, pkgLength(join(namePath(path), terms))...)
}

func amlDevice(name string, terms ...[]byte) []byte {
	return append([]byte{amlExtOpPfx, amlDeviceOp}, pkgLength(join(nameSeg(name), terms))...)
}

// amlMethod is a not-serialized method taking args arguments.
func amlMethod(name string, args int, terms ...[]byte) []byte {
	head := append(nameSeg(name), byte(args&7))
	return append([]byte{amlMethodOp}, pkgLength(join(head, terms))...)
}

func amlNotify(path string, value uint64) []byte {
	return append(append([]byte{amlNotifyOp}, namePath(path)...), amlInteger(value)...)
}

func join(head []byte, terms [][]byte) []byte {
	b := append([]byte(nil), head...)
	for _, t := range terms {
		b = append(b, t...)
	}
	return b
}

// edgeInterrupt is a resource template (for _CRS) holding one extended
// interrupt descriptor: a consumer, edge-triggered, active-high,
// exclusive line gsi; then the end tag.
func edgeInterrupt(gsi uint32) []byte {
	const (
		extendedIRQ = 0x89
		consumer    = 1 << 0
		edge        = 1 << 1
		endTag      = 0x79
	)
	d := []byte{extendedIRQ, 6, 0, consumer | edge, 1}
	d = binary.LittleEndian.AppendUint32(d, gsi)
	return append(d, endTag, 0) // checksum 0: "treat as correct"
}
