// Package qemuvm builds the command line of QEMU's microvm machine, the
// peer vmm is compared with in the bench and the lab: the same kernel,
// initramfs, kernel command line and devices as a vmm boot, under KVM,
// with the console on stdout and no reboot.
package qemuvm

import "fmt"

// Microvm is one microvm guest.
type Microvm struct {
	MemMiB   int
	CPUs     int // 0: 1
	Kernel   string
	Initrd   string // "" for none
	Cmdline  string
	RootDisk string // read-only virtio-blk disk ("" for none)
	RNG      bool   // a virtio-rng device (vmm gives every VM one by default)
	// TapFD, when not 0, is an open tap device QEMU inherits at that
	// descriptor: a virtio-net device with address MAC on it.
	TapFD int
	MAC   string
}

// Args is the qemu-system-x86_64 argument list.
func (m Microvm) Args() []string {
	args := []string{"-accel", "kvm", "-M", "microvm,x-option-roms=off,isa-serial=on,rtc=on",
		"-cpu", "host", "-m", fmt.Sprintf("%dM", m.MemMiB), "-smp", fmt.Sprint(max(m.CPUs, 1)),
		"-nodefaults", "-no-user-config", "-nographic", "-serial", "stdio", "-no-reboot"}
	if m.RootDisk != "" {
		args = append(args, "-drive", "id=root,file="+m.RootDisk+",format=raw,if=none,readonly=on", "-device", "virtio-blk-device,drive=root")
	}
	if m.RNG {
		args = append(args, "-device", "virtio-rng-device")
	}
	if m.TapFD != 0 {
		dev := "virtio-net-device,netdev=net0"
		if m.MAC != "" {
			dev += ",mac=" + m.MAC
		}
		args = append(args, "-netdev", fmt.Sprintf("tap,id=net0,fd=%d", m.TapFD), "-device", dev)
	}
	args = append(args, "-kernel", m.Kernel)
	if m.Initrd != "" {
		args = append(args, "-initrd", m.Initrd)
	}
	return append(args, "-append", m.Cmdline)
}
