// Command vmm-init is /init in vmm's initramfs images: see package guestinit.
// It is built statically and copied into images by `vmm initramfs build`.
package main

import (
	"fmt"
	"os"

	"github.com/vmmlab/vmm/guestinit"
)

func main() {
	if os.Getpid() != 1 {
		fmt.Fprintln(os.Stderr, "vmm-init is the init of vmm guests; it only runs as PID 1 inside a VM")
		os.Exit(2)
	}
	guestinit.Main()
}
