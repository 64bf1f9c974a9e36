package bench

import (
	"io/fs"
	"syscall"
)

// diskBlocks is the space a file takes on disk (st_blocks × 512), or its
// size where the file system does not say.
func diskBlocks(info fs.FileInfo) int64 {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return st.Blocks * 512
	}
	return info.Size()
}
