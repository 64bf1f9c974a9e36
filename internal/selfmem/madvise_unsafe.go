package selfmem

import "golang.org/x/sys/unix"

// dontNeed madvises MADV_DONTNEED over s, given as raw addresses (a
// []byte over the binary's own code would be a Go value aliasing it).
// Safe because Find keeps only mappings that are read-only and have no
// private (anonymous) page: their contents are the file's, so MADV_DONTNEED
// only drops page-table entries, and the next access, by any thread,
// faults the same bytes back in from the page cache.
func dontNeed(s Span) error {
	_, _, errno := unix.Syscall(unix.SYS_MADVISE, s.Start, s.End-s.Start, unix.MADV_DONTNEED)
	if errno != 0 {
		return errno
	}
	return nil
}
