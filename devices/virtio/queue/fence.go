package queue

import "sync/atomic"

// Memory ordering between the device and a driver on another CPU.
//
// Under x86-TSO a CPU keeps its loads in order, its stores in order, and a
// load never passes an earlier load nor a store an earlier load. So these
// hold without a fence (a compiler barrier is all Linux uses for them):
// reading avail idx before the ring entry and descriptors it covers
// (smp_rmb), and writing the used element before used idx (smp_wmb). The
// one reordering x86 does is a load passing an earlier store to another
// address, and the split queue has two such pairs that must not reorder:
// publishing avail_event/used flags then rereading avail idx (Next), and
// publishing used idx then reading used_event/avail flags
// (NeedsInterrupt). Both get a full fence (smp_mb in Linux and vhost,
// fence(SeqCst) in rust-vmm).

// orderedMemory is a Memory that orders accesses itself; a test's
// recorder implements it to see where the fences are.
type orderedMemory interface {
	Fence()
}

// fence orders every memory access before it before every one after it.
func fence(mem Memory) {
	if m, ok := mem.(orderedMemory); ok {
		m.Fence()
		return
	}
	// A locked read-modify-write is a full barrier on x86 (and a
	// sequentially consistent atomic on every architecture Go supports).
	var word uint32
	atomic.AddUint32(&word, 0)
}
