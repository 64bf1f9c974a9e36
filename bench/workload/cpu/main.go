// Command cpu runs a fixed computation (repeated SHA-256 over a 1 MiB
// buffer), prints its own wall time and the digest, then the ready marker,
// and exits 0.
package main

import (
	"crypto/sha256"
	"flag"
	"fmt"
	"time"

	"github.com/vmmlab/vmm/bench/workload"
)

func main() {
	rounds := flag.Int("rounds", 64, "SHA-256 passes over 1 MiB")
	flag.Parse()
	buf := make([]byte, 1<<20)
	for i := range buf {
		buf[i] = byte(i * 7)
	}
	start := time.Now()
	var sum [32]byte
	for i := 0; i < *rounds; i++ {
		sum = sha256.Sum256(buf)
		copy(buf, sum[:])
	}
	el := time.Since(start)
	fmt.Printf("cpu: %d MiB hashed in %.3f ms, digest %x\n", *rounds, float64(el.Microseconds())/1000, sum[:8])
	fmt.Println(workload.Marker, "cpu", fmt.Sprintf("ms=%.3f", float64(el.Microseconds())/1000))
}
