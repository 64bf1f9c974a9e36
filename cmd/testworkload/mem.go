package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

// alloc allocates and touches n MiB, one MiB at a time, saying how far it
// got, then prints ALLOC-DONE. Under a smaller memory limit it is killed
// part way.
func alloc(arg string) error {
	n, err := strconv.Atoi(arg)
	if err != nil || n < 0 {
		return fmt.Errorf("alloc %q: want a number of MiB", arg)
	}
	fmt.Println("ALLOC-START")
	var keep [][]byte
	for i := 1; i <= n; i++ {
		b := make([]byte, 1<<20)
		for j := 0; j < len(b); j += 4096 {
			b[j] = byte(i)
		}
		keep = append(keep, b)
		if i%8 == 0 {
			fmt.Printf("ALLOC-MIB=%d\n", i)
		}
	}
	fmt.Printf("ALLOC-DONE mib=%d\n", len(keep))
	return nil
}

// sleep prints SLEEPING and sleeps for arg seconds.
func sleep(arg string) error {
	n, err := strconv.Atoi(arg)
	if err != nil || n < 0 {
		return fmt.Errorf("sleep %q: want seconds", arg)
	}
	fmt.Println("SLEEPING")
	time.Sleep(time.Duration(n) * time.Second)
	return nil
}

// flood prints FLOODING, then writes lines to the console for arg seconds
// as fast as it can (a guest that floods a console nobody reads).
func flood(arg string) error {
	n, err := strconv.Atoi(arg)
	if err != nil || n < 0 {
		return fmt.Errorf("flood %q: want seconds", arg)
	}
	fmt.Println("FLOODING")
	line := []byte("flood flood flood flood flood flood flood flood flood flood flood flood\n")
	for end := time.Now().Add(time.Duration(n) * time.Second); time.Now().Before(end); {
		os.Stdout.Write(line)
	}
	return nil
}
