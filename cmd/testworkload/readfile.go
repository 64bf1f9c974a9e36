package main

import (
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/vmmlab/vmm/internal/meminfo"
)

// readFile reads path to its end, then prints its size, its SHA-256 and
// how much the guest's page cache grew meanwhile ("READFILE BYTES HEX
// CACHED-KIB"), and stays up so that the host can measure the VM: a file
// on a DAX mount (virtio-pmem) is read from the host's page cache, and
// the guest's own cache does not grow by it.
func readFile(path string) error {
	before, err := cachedKiB()
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.CopyBuffer(h, f, make([]byte, 1<<20))
	f.Close()
	if err != nil {
		return err
	}
	after, err := cachedKiB()
	if err != nil {
		return err
	}
	fmt.Printf("READFILE %d %x %d\n", n, h.Sum(nil), after-before)
	for {
		time.Sleep(time.Hour)
	}
}

// cachedKiB is /proc/meminfo's Cached: the guest's page cache.
func cachedKiB() (int64, error) {
	info, err := meminfo.Read(meminfo.Path)
	if err != nil {
		return 0, err
	}
	v, err := info.Need("Cached")
	if err != nil {
		return 0, err
	}
	return v[0] >> 10, nil
}
