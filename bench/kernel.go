package bench

import (
	"encoding/binary"
	"io"
	"os"
	"strings"
)

// kernelVersion reads the version string a bzImage carries (boot
// protocol: the kernel_version field at 0x20e points to it, offset by
// 0x200), e.g. "6.12.57 (debian-kernel@...) #1 SMP ..."; only the release
// is returned. Anything malformed gives "unknown".
func kernelVersion(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	hdr := make([]byte, 0x210)
	if _, err := io.ReadFull(f, hdr); err != nil || string(hdr[0x202:0x206]) != "HdrS" {
		return "unknown"
	}
	off := int64(binary.LittleEndian.Uint16(hdr[0x20e:])) + 0x200
	buf := make([]byte, 128)
	n, _ := f.ReadAt(buf, off)
	s, _, _ := strings.Cut(string(buf[:n]), "\x00")
	release, _, _ := strings.Cut(s, " ")
	if release == "" {
		return "unknown"
	}
	return release
}
