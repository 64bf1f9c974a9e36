package vsock

import (
	"bytes"
	"testing"
)

// The fifo keeps bytes in order across wrap-around and growth, refuses
// what would pass its limit, and never holds more storage than it.
func TestFifo(t *testing.T) {
	f := fifo{limit: 10 << 10}
	var want, got []byte
	out := make([]byte, 700)
	for i := 0; len(got) < 200<<10; i++ {
		chunk := bytes.Repeat([]byte{byte(i)}, i%1500)
		if f.Write(chunk) {
			want = append(want, chunk...)
		} else if f.Len()+len(chunk) <= f.limit {
			t.Fatalf("refused %d bytes with %d of %d used", len(chunk), f.Len(), f.limit)
		}
		n := f.Read(out[:i%len(out)])
		got = append(got, out[:n]...)
		if cap(f.buf) > f.limit {
			t.Fatalf("storage %d past the limit %d", cap(f.buf), f.limit)
		}
	}
	for f.Len() > 0 {
		n := f.Read(out)
		got = append(got, out[:n]...)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("bytes out differ from bytes in")
	}
}

// FuzzFifo: any sequence of writes and reads keeps the bytes in order.
func FuzzFifo(f *testing.F) {
	f.Add([]byte{3, 200, 7, 1, 0, 255}, uint16(300))
	f.Fuzz(func(t *testing.T, ops []byte, limit uint16) {
		q := fifo{limit: int(limit)}
		var want, got []byte
		for i, op := range ops {
			if op&1 == 0 {
				chunk := bytes.Repeat([]byte{byte(i)}, int(op))
				if q.Write(chunk) {
					want = append(want, chunk...)
				}
			} else {
				out := make([]byte, op)
				got = append(got, out[:q.Read(out)]...)
			}
		}
		out := make([]byte, q.Len())
		got = append(got, out[:q.Read(out)]...)
		if !bytes.Equal(got, want) || cap(q.buf) > q.limit {
			t.Fatalf("out %x, in %x (storage %d, limit %d)", got, want, cap(q.buf), q.limit)
		}
	})
}
