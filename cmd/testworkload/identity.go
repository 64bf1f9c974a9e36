package main

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
)

// randomHex answers 16 bytes from the kernel's random number generator
// (getrandom), in hex: two clones of one snapshot must not answer alike.
func randomHex(w http.ResponseWriter, _ *http.Request) {
	var b [16]byte
	rand.Read(b[:])
	fmt.Fprintln(w, hex.EncodeToString(b[:]))
}

// vmgenidState answers which devices Linux's vmgenid driver bound
// ("bound VMGENCTR:00") and how many interrupts the ACPI Generic Event
// Device took ("ged 1"): the line vmm raises when the ID changes.
func vmgenidState(w http.ResponseWriter, _ *http.Request) {
	ents, _ := os.ReadDir("/sys/bus/platform/drivers/vmgenid")
	var bound []string
	for _, e := range ents {
		if strings.Contains(e.Name(), ":") { // device links; the rest is bind, unbind, uevent
			bound = append(bound, e.Name())
		}
	}
	fmt.Fprintf(w, "bound %s\nged %d\n", strings.Join(bound, ","), gedInterrupts())
}

// gedInterrupts sums the "ACPI:Ged" line of /proc/interrupts over CPUs.
func gedInterrupts() int {
	f, err := os.Open("/proc/interrupts")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || fields[len(fields)-1] != "ACPI:Ged" {
			continue
		}
		sum := 0
		for _, f := range fields[1:] {
			n, err := strconv.Atoi(f)
			if err != nil {
				break
			}
			sum += n
		}
		return sum
	}
	return -1
}
