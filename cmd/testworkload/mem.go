package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
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

// touchFree touches n MiB of fresh anonymous memory and gives it back to
// the guest kernel (munmap), printing TOUCH-START, TOUCHED and FREED with
// a few seconds between them so the host can read its memory use at each
// step, then idles for two minutes (the test stops the VM).
func touchFree(arg string) error {
	n, err := strconv.Atoi(arg)
	if err != nil || n <= 0 {
		return fmt.Errorf("touchfree %q: want a number of MiB", arg)
	}
	if ents, err := os.ReadDir("/sys/bus/virtio/drivers/virtio_balloon"); err == nil {
		var bound []string
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), "virtio") {
				bound = append(bound, e.Name())
			}
		}
		fmt.Printf("BALLOON-DRIVER=%s\n", strings.Join(bound, ","))
	}
	fmt.Println("TOUCH-START")
	time.Sleep(3 * time.Second)
	b, err := unix.Mmap(-1, 0, n<<20, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return err
	}
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	fmt.Printf("TOUCHED mib=%d\n", n)
	time.Sleep(3 * time.Second)
	if err := unix.Munmap(b); err != nil {
		return err
	}
	fmt.Println("FREED")
	time.Sleep(2 * time.Minute)
	return nil
}

// count prints "COUNT n unix_ms" every arg milliseconds, forever, and
// answers "count n" on port 80: a guest whose progress, clock and network
// a snapshot and restore must keep. /random and /vmgenid on the same port
// show what makes clones of it differ (see identity.go).
func count(arg string) error {
	ms, err := strconv.Atoi(arg)
	if err != nil || ms <= 0 {
		return fmt.Errorf("count %q: want milliseconds", arg)
	}
	var n atomic.Int64
	if ln, err := net.Listen("tcp", ":80"); err == nil {
		mux := http.NewServeMux()
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintf(w, "count %d\n", n.Load()) })
		mux.HandleFunc("/random", randomHex)
		mux.HandleFunc("/vmgenid", vmgenidState)
		go http.Serve(ln, mux)
	}
	for {
		fmt.Printf("COUNT %d %d\n", n.Add(1), time.Now().UnixMilli())
		time.Sleep(time.Duration(ms) * time.Millisecond)
	}
}
