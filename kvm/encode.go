package kvm

import (
	"encoding/binary"
	"fmt"
)

// The variable-length ioctl arguments (kvm_cpuid2, kvm_msrs) are encoded
// into byte buffers here, in safe code; ioctl_unsafe.go only passes the
// buffer's address.

func encodeCPUID(entries []CPUIDEntry) []byte {
	buf := make([]byte, sizeVarHeader+len(entries)*sizeCPUIDEntry)
	binary.LittleEndian.PutUint32(buf, uint32(len(entries)))
	for i, e := range entries {
		b := buf[sizeVarHeader+i*sizeCPUIDEntry:]
		for j, v := range []uint32{e.Function, e.Index, e.Flags, e.EAX, e.EBX, e.ECX, e.EDX} {
			binary.LittleEndian.PutUint32(b[4*j:], v)
		}
	}
	return buf
}

func decodeCPUID(buf []byte) ([]CPUIDEntry, error) {
	if len(buf) < sizeVarHeader {
		return nil, fmt.Errorf("cpuid buffer too short: %d bytes", len(buf))
	}
	n := int(binary.LittleEndian.Uint32(buf))
	if n > (len(buf)-sizeVarHeader)/sizeCPUIDEntry {
		return nil, fmt.Errorf("cpuid count %d exceeds buffer", n)
	}
	entries := make([]CPUIDEntry, n)
	for i := range entries {
		b := buf[sizeVarHeader+i*sizeCPUIDEntry:]
		u := func(j int) uint32 { return binary.LittleEndian.Uint32(b[4*j:]) }
		entries[i] = CPUIDEntry{Function: u(0), Index: u(1), Flags: u(2), EAX: u(3), EBX: u(4), ECX: u(5), EDX: u(6)}
	}
	return entries, nil
}

func encodeMSRs(entries []MSREntry) []byte {
	buf := make([]byte, sizeVarHeader+len(entries)*sizeMSREntry)
	binary.LittleEndian.PutUint32(buf, uint32(len(entries)))
	for i, e := range entries {
		b := buf[sizeVarHeader+i*sizeMSREntry:]
		binary.LittleEndian.PutUint32(b, e.Index)
		binary.LittleEndian.PutUint64(b[8:], e.Data)
	}
	return buf
}

// decodeMSRs reads the first n entries of an encoded kvm_msrs buffer.
func decodeMSRs(buf []byte, n int) ([]MSREntry, error) {
	if n < 0 || n > (len(buf)-sizeVarHeader)/sizeMSREntry {
		return nil, fmt.Errorf("msr count %d exceeds buffer", n)
	}
	entries := make([]MSREntry, n)
	for i := range entries {
		b := buf[sizeVarHeader+i*sizeMSREntry:]
		entries[i] = MSREntry{Index: binary.LittleEndian.Uint32(b), Data: binary.LittleEndian.Uint64(b[8:])}
	}
	return entries, nil
}
