package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// hwrng reads n bytes from /dev/hwrng (the virtio-rng device) and prints
// which source the kernel uses, how many bytes came, how many distinct
// byte values they hold (random data of a MiB holds all 256) and how long
// the read took.
func hwrng(arg string) error {
	n, err := strconv.Atoi(arg)
	if err != nil {
		return fmt.Errorf("hwrng %q: want a byte count", arg)
	}
	current, _ := os.ReadFile("/sys/class/misc/hw_random/rng_current")
	fmt.Printf("HWRNG-SOURCE=%s\n", strings.TrimSpace(string(current)))
	f, err := os.Open("/dev/hwrng")
	if err != nil {
		return err
	}
	defer f.Close()
	start := time.Now()
	b := make([]byte, n)
	got, err := io.ReadFull(f, b)
	took := time.Since(start)
	var seen [256]bool
	distinct := 0
	for _, c := range b[:got] {
		if !seen[c] {
			seen[c], distinct = true, distinct+1
		}
	}
	fmt.Printf("HWRNG-BYTES=%d\nHWRNG-DISTINCT=%d\nHWRNG-MS=%d\n", got, distinct, took.Milliseconds())
	return err
}
