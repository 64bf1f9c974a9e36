package kvm

import (
	"sync/atomic"
	"unsafe"
)

// loadRingIndex and storeRingIndex access the coalesced ring's first (at
// 0) or last (at 4) index atomically: the kernel writes last while vmm
// reads it, and reads first while vmm writes it. Safe because page is a
// whole page (a page-aligned mmap, or a test's page-sized slice whose
// first word is 8-aligned as every Go allocation of that size is) kept
// alive by the ring, and off is 0 or 4: an aligned uint32 inside it.
func loadRingIndex(page []byte, off int) uint32 {
	return atomic.LoadUint32((*uint32)(unsafe.Pointer(&page[off])))
}

func storeRingIndex(page []byte, off int, v uint32) {
	atomic.StoreUint32((*uint32)(unsafe.Pointer(&page[off])), v)
}
