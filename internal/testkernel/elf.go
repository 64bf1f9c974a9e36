package testkernel

import (
	"encoding/binary"
	"os"
)

// WriteELF writes a minimal x86-64 ELF executable to p: static, or with a
// PT_INTERP program header (dynamically linked) when dynamic is set. It is
// enough for checks that look at ELF headers, not for running.
func WriteELF(p string, dynamic bool) error {
	h := make([]byte, 64)
	copy(h, "\x7fELF\x02\x01\x01")
	le := binary.LittleEndian
	le.PutUint16(h[16:], 2)  // ET_EXEC
	le.PutUint16(h[18:], 62) // EM_X86_64
	le.PutUint32(h[20:], 1)
	le.PutUint16(h[52:], 64) // ehsize
	le.PutUint16(h[54:], 56) // phentsize
	if dynamic {
		le.PutUint64(h[32:], 64) // phoff
		le.PutUint16(h[56:], 1)  // phnum
		ph := make([]byte, 56)
		le.PutUint32(ph, 3) // PT_INTERP
		h = append(h, ph...)
	}
	return os.WriteFile(p, h, 0o755)
}
