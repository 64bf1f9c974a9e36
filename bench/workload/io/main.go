// Command io writes a file of N MiB, fsyncs it, reads it back and checks
// it, prints the throughput and the ready marker, and exits 0 (1 when the
// data read back differs).
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/vmmlab/vmm/bench/workload"
)

func main() {
	mib := flag.Int("mib", 16, "MiB to write and read back")
	dir := flag.String("dir", "/tmp", "directory for the file")
	flag.Parse()
	if err := run(*dir, *mib); err != nil {
		fmt.Fprintln(os.Stderr, "io:", err)
		os.Exit(1)
	}
}

func run(dir string, mib int) error {
	p := filepath.Join(dir, fmt.Sprintf("vmm-bench-io-%d", os.Getpid()))
	defer os.Remove(p)
	block := bytes.Repeat([]byte("vmm-bench-io-block-"), 1<<16/19+1)[:1<<16]
	start := time.Now()
	f, err := os.Create(p)
	if err != nil {
		return err
	}
	for i := 0; i < mib*16; i++ {
		if _, err := f.Write(block); err != nil {
			f.Close()
			return err
		}
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	wrote := time.Since(start)
	start = time.Now()
	data, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	read := time.Since(start)
	for off := 0; off < len(data); off += len(block) {
		if !bytes.Equal(data[off:off+len(block)], block) {
			return fmt.Errorf("read back differs at offset %d", off)
		}
	}
	if len(data) != mib<<20 {
		return fmt.Errorf("read back %d bytes, wrote %d", len(data), mib<<20)
	}
	mbps := func(d time.Duration) float64 { return float64(mib) / d.Seconds() }
	fmt.Printf("io: %d MiB write+fsync %.1f MiB/s, read %.1f MiB/s\n", mib, mbps(wrote), mbps(read))
	fmt.Println(workload.Marker, "io", fmt.Sprintf("write_mibps=%.1f read_mibps=%.1f", mbps(wrote), mbps(read)))
	return nil
}
