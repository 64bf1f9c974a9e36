// Command testworkload is the workload the lab's e2e tests put into an
// initramfs. With no mode it prints a marker with its arguments and the
// virtio modules the guest has loaded, then exits with the status given as
// its first argument. "disk-write" and "disk-read" exercise a disk mounted
// at /mnt and print checksums and throughput; "net URL" serves a page and
// fetches pages from URL (see network); "alloc MIB" allocates memory and
// "sleep SECONDS" sleeps (for containers' limits and lifecycle); "flood
// SECONDS" writes to the console as fast as it can; "hwrng BYTES" reads
// the virtio-rng device; "touchfree MIB" touches and frees memory (for
// the balloon's free page reporting); "vsock BYTES" exchanges data with
// the host over AF_VSOCK both ways, with checksums; "count MS" prints a
// counter and the guest clock every MS milliseconds, forever; "hammer
// SECONDS" is a hostile guest writing garbage to every device; "readfile
// PATH" reads a file and reports its checksum and the guest's page cache
// growth, then stays up.
package main

import (
	"crypto/sha256"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

func main() {
	if len(os.Args) > 2 {
		modes := map[string]func(string) error{"net": network, "alloc": alloc, "sleep": sleep, "flood": flood, "hwrng": hwrng, "touchfree": touchFree, "vsock": vsockExchange, "count": count, "fsyncloop": fsyncLoop, "fsynccheck": fsyncCheck, "hammer": hammer, "readfile": readFile}
		if mode, ok := modes[os.Args[1]]; ok {
			if err := mode(os.Args[2]); err != nil {
				fmt.Println("WORKLOAD-ERROR", err)
				os.Exit(1)
			}
			return
		}
	}
	if len(os.Args) > 1 && strings.HasPrefix(os.Args[1], "disk-") {
		if err := disk(os.Args[1]); err != nil {
			fmt.Println("DISK-ERROR", err)
			os.Exit(1)
		}
		return
	}
	fmt.Printf("WORKLOAD-HELLO args=%q\n", os.Args[1:])
	if b, err := os.ReadFile("/proc/modules"); err == nil {
		var mods []string
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) > 0 && (strings.Contains(f[0], "virtio") || strings.Contains(f[0], "failover")) {
				mods = append(mods, f[0])
			}
		}
		sort.Strings(mods)
		fmt.Printf("WORKLOAD-MODULES=%s\n", strings.Join(mods, ","))
	}
	status := 0
	if len(os.Args) > 1 {
		status, _ = strconv.Atoi(os.Args[1])
	}
	os.Exit(status)
}

const dataSize = 8 << 20

func pattern() []byte {
	b := make([]byte, dataSize)
	for i := range b {
		b[i] = byte(i*31 + i>>12)
	}
	return b
}

func mbps(n int, d time.Duration) float64 { return float64(n) / (1 << 20) / d.Seconds() }

func disk(mode string) error {
	switch mode {
	case "disk-write":
		hello, err := os.ReadFile("/mnt/hello.txt")
		if err != nil {
			return err
		}
		fmt.Printf("DISK-HELLO=%s\n", strings.TrimSpace(string(hello)))
		data := pattern()
		start := time.Now()
		f, err := os.Create("/mnt/out.bin")
		if err != nil {
			return err
		}
		if _, err := f.Write(data); err != nil {
			return err
		}
		if err := f.Sync(); err != nil {
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		fmt.Printf("DISK-WRITE-MBPS=%.1f\n", mbps(len(data), time.Since(start)))
		fmt.Printf("DISK-WROTE sha256=%x\n", sha256.Sum256(data))
	case "disk-read":
		start := time.Now()
		data, err := os.ReadFile("/mnt/out.bin")
		if err != nil {
			return err
		}
		fmt.Printf("DISK-READ-MBPS=%.1f\n", mbps(len(data), time.Since(start)))
		fmt.Printf("DISK-READ sha256=%x\n", sha256.Sum256(data))
		if err := os.WriteFile("/mnt/should-fail", []byte("x"), 0o644); err != nil {
			fmt.Println("DISK-RO-REFUSED", err)
		} else {
			fmt.Println("DISK-RO-WRITABLE")
		}
	default:
		return fmt.Errorf("unknown mode %s", mode)
	}
	return nil
}
