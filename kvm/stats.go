package kvm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
)

// reqGetStatsFD is KVM_GET_STATS_FD: a file of the VM's or a vCPU's
// statistics in KVM's binary format (Linux 5.14+, KVM_CAP_BINARY_STATS_FD).
const reqGetStatsFD = (iocNone)<<30 | 0<<16 | kvmio<<8 | 0xce

// Kinds of statistic (the low four bits of a descriptor's flags).
const (
	statCumulative = 0
	statInstant    = 1
	statPeak       = 2
)

// Stats is an open statistics file of a VM or a vCPU: what KVM did
// without waking vmm (exits it handled itself, halt polls, injected
// interrupts, page faults...). Reading it is a pread, which a seccomp
// filter that allows reads permits; opening it is an ioctl, done before.
type Stats struct {
	f *os.File
}

// OpenStats opens the VM's statistics.
func (vm *VM) OpenStats() (*Stats, error) { return openStats(vm.fd, "VM") }

// OpenStats opens the vCPU's statistics.
func (c *VCPU) OpenStats() (*Stats, error) { return openStats(c.fd, fmt.Sprintf("vCPU %d", c.id)) }

func openStats(fd int, what string) (*Stats, error) {
	n, err := ioctlVal(fd, reqGetStatsFD, 0)
	if err != nil {
		return nil, fmt.Errorf("KVM_GET_STATS_FD on %s: %w", what, err)
	}
	return &Stats{f: os.NewFile(uintptr(n), "kvm-stats")}, nil
}

// Close closes the statistics file.
func (s *Stats) Close() error { return s.f.Close() }

// Read returns every scalar statistic (cumulative counters, instant
// values, peaks) by name; histograms are left out.
func (s *Stats) Read() (map[string]uint64, error) {
	var b []byte
	buf := make([]byte, 64<<10)
	for off := int64(0); ; {
		n, err := s.f.ReadAt(buf, off)
		b = append(b, buf[:n]...)
		off += int64(n)
		if err != nil || n == 0 || len(b) > 16<<20 {
			break
		}
	}
	return ParseStats(b)
}

// ParseStats decodes KVM's binary statistics format (a header, the
// descriptors, the data); every offset and size is checked against b.
func ParseStats(b []byte) (map[string]uint64, error) {
	le := binary.LittleEndian
	if len(b) < 24 {
		return nil, errors.New("kvm stats: short header")
	}
	nameSize, numDesc := uint64(le.Uint32(b[4:])), uint64(le.Uint32(b[8:]))
	descOff, dataOff := uint64(le.Uint32(b[16:])), uint64(le.Uint32(b[20:]))
	descSize := 16 + nameSize
	if nameSize > 4096 || numDesc > 1<<16 || descOff > uint64(len(b)) || numDesc*descSize > uint64(len(b))-descOff {
		return nil, fmt.Errorf("kvm stats: %d descriptors of %d bytes at %d do not fit in %d bytes", numDesc, descSize, descOff, len(b))
	}
	out := map[string]uint64{}
	for i := range numDesc {
		d := b[descOff+i*descSize:][:descSize]
		flags, size, off := le.Uint32(d), uint64(le.Uint16(d[6:])), uint64(le.Uint32(d[8:]))
		name := string(d[16:])
		if j := indexByte(name, 0); j >= 0 {
			name = name[:j]
		}
		if t := flags & 0xf; (t != statCumulative && t != statInstant && t != statPeak) || size != 1 {
			continue // a histogram
		}
		at := dataOff + off
		if at < dataOff || at > uint64(len(b)) || uint64(len(b))-at < 8 {
			return nil, fmt.Errorf("kvm stats: %s's value at %d is outside the %d bytes", name, at, len(b))
		}
		out[name] = le.Uint64(b[at:])
	}
	return out, nil
}

func indexByte(s string, c byte) int {
	for i := range len(s) {
		if s[i] == c {
			return i
		}
	}
	return -1
}
