// Command testworkload is the workload the lab's e2e tests put into an
// initramfs: it prints a marker with its arguments and the virtio modules
// the guest has loaded, then exits with the status given as its first
// argument.
package main

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
)

func main() {
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
