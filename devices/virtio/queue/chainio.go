package queue

import "fmt"

// Len is the total length of the descriptors.
func Len(descs []Descriptor) uint64 {
	var n uint64
	for _, d := range descs {
		n += uint64(d.Len)
	}
	return n
}

// ReadAt reads len(p) bytes of the chain's readable buffers, taken as one
// stream, starting at off.
func (c Chain) ReadAt(mem Memory, p []byte, off uint64) error {
	return scatter(c.Readable, off, uint64(len(p)), func(addr uint64, from, n uint64) error {
		return mem.Read(addr, p[from:from+n])
	})
}

// WriteAt writes p into the chain's writable buffers, taken as one stream,
// starting at off.
func (c Chain) WriteAt(mem Memory, p []byte, off uint64) error {
	return scatter(c.Writable, off, uint64(len(p)), func(addr uint64, from, n uint64) error {
		return mem.Write(addr, p[from:from+n])
	})
}

// scatter maps the stream range [off, off+n) onto descriptor pieces.
func scatter(descs []Descriptor, off, n uint64, do func(addr, from, n uint64) error) error {
	if total := Len(descs); off > total || n > total-off {
		return fmt.Errorf("%w: access of %d bytes at %d past the %d-byte buffers", ErrMalformed, n, off, total)
	}
	var done uint64
	for _, d := range descs {
		if n == 0 {
			return nil
		}
		if off >= uint64(d.Len) {
			off -= uint64(d.Len)
			continue
		}
		k := min(uint64(d.Len)-off, n)
		if d.Addr+off+k < d.Addr { // a chain from Pop never wraps; one made by hand might
			return fmt.Errorf("%w: buffer at %#x+%#x wraps past the end of the address space", ErrMalformed, d.Addr, d.Len)
		}
		if err := do(d.Addr+off, done, k); err != nil {
			return fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		done, n, off = done+k, n-k, 0
	}
	return nil
}
