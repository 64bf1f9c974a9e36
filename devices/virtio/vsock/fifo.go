package vsock

// fifo is a byte queue of at most limit bytes whose storage grows as
// bytes arrive, never past limit: what a connection buffers costs its
// bytes, however the guest slices them into packets.
type fifo struct {
	buf     []byte
	head, n int // the bytes are buf[head:head+n], wrapping around
	limit   int
}

// Len is how many bytes wait.
func (f *fifo) Len() int { return f.n }

// Write appends p; it reports false, and takes nothing, when that would
// hold more than the limit.
func (f *fifo) Write(p []byte) bool {
	if f.n+len(p) > f.limit {
		return false
	}
	if f.n+len(p) > len(f.buf) {
		f.grow(f.n + len(p))
	}
	tail := (f.head + f.n) % max(len(f.buf), 1)
	k := copy(f.buf[tail:], p)
	copy(f.buf, p[k:])
	f.n += len(p)
	return true
}

// grow makes room for need bytes: doubling, from 4 KiB, up to the limit.
func (f *fifo) grow(need int) {
	b := make([]byte, min(max(2*len(f.buf), need, 4<<10), f.limit))
	n := f.n
	f.Read(b[:n])
	f.buf, f.head, f.n = b, 0, n
}

// Read moves up to len(p) bytes from the front into p.
func (f *fifo) Read(p []byte) int {
	k := min(len(p), f.n)
	first := copy(p[:k], f.buf[f.head:min(f.head+k, len(f.buf))])
	copy(p[first:k], f.buf)
	f.head = (f.head + k) % max(len(f.buf), 1)
	f.n -= k
	return k
}
