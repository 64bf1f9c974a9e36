package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// hammer is a hostile guest for SECONDS: it unbinds the guest's drivers
// from every virtio-pci device and writes random values to random
// registers of their BARs (queue addresses, sizes, notifications, status,
// the MSI-X table), to PCI configuration space through ports 0xcf8/0xcfc
// (BARs and command registers included), to the CMOS ports, to ports no
// device has, and to pages of the MMIO hole no device has. It spares
// what would end or silence the run: the power, reset, keyboard
// controller, boot timer, exit status and console ports, and the
// in-kernel timer and interrupt controllers. It prints HAMMER-READY,
// waits 3 s (the host reads vmm's idle memory), prints HAMMER-START,
// hammers, prints HAMMER-DONE and sleeps until the host stops the VM.
func hammer(arg string) error {
	secs, err := strconv.Atoi(arg)
	if err != nil || secs <= 0 {
		return fmt.Errorf("hammer %q: want seconds", arg)
	}
	if _, err := os.Stat("/sys/bus/pci"); err != nil {
		os.MkdirAll("/sys", 0o755)
		if err := syscall.Mount("sysfs", "/sys", "sysfs", 0, ""); err != nil {
			return fmt.Errorf("mount /sys: %w", err)
		}
	}
	port, err := os.OpenFile("/dev/port", os.O_RDWR, 0)
	if err != nil {
		return err
	}
	hole, err := mapHole(64)
	if err != nil {
		return err
	}
	devs, _ := filepath.Glob("/sys/bus/pci/devices/*")
	var bars [][]byte
	for _, d := range devs {
		if vendor, _ := os.ReadFile(d + "/vendor"); strings.TrimSpace(string(vendor)) != "0x1af4" {
			continue
		}
		os.WriteFile(d+"/driver/unbind", []byte(filepath.Base(d)), 0)
		if bar, err := mapBAR(d + "/resource0"); err == nil {
			bars = append(bars, bar)
		} else {
			fmt.Println("HAMMER-NOTE", err)
		}
	}
	fmt.Printf("HAMMER-READY pci=%d virtio-bars=%d hole-pages=%d\n", len(devs), len(bars), len(hole))
	time.Sleep(3 * time.Second)
	fmt.Println("HAMMER-START")
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	n := 0
	for deadline := time.Now().Add(time.Duration(secs) * time.Second); time.Now().Before(deadline); n++ {
		hammerOnce(r, n, port, hole, bars)
	}
	fmt.Printf("HAMMER-DONE writes=%d\n", n)
	for {
		time.Sleep(time.Hour) // until the host stops the VM
	}
}

// hammerOnce makes one hostile access, of kind n%5.
func hammerOnce(r *rand.Rand, n int, port *os.File, hole, bars [][]byte) {
	var v [4]byte
	for i := range v {
		v[i] = byte(r.Uint32())
	}
	switch n % 5 {
	case 0: // a port no device has
		port.WriteAt(v[:1], int64(0x1000+r.IntN(0xf000)))
	case 1: // PCI configuration space: an address, then a value
		addr := uint32(1)<<31 | uint32(r.IntN(32))<<11 | uint32(r.IntN(64))<<2
		a := [4]byte{byte(addr), byte(addr >> 8), byte(addr >> 16), byte(addr >> 24)}
		port.WriteAt(a[:], 0xcf8)
		port.WriteAt(v[:], 0xcfc)
	case 2: // CMOS
		port.WriteAt(v[:1], int64(0x70+r.IntN(2)))
	case 3: // a register of a virtio device
		writeSomewhere(r, bars, v)
	case 4: // a page of the MMIO hole no device has
		writeSomewhere(r, hole, v)
	}
}

// writeSomewhere writes v at a random aligned offset of one of maps.
func writeSomewhere(r *rand.Rand, maps [][]byte, v [4]byte) {
	if len(maps) > 0 {
		b := maps[r.IntN(len(maps))]
		copy(b[r.IntN(len(b)/4)*4:], v[:])
	}
}

// mapHole maps n random pages of the MMIO hole that no device has
// (0xd0000000 up to the IOAPIC: the virtio-mmio windows, unused on PCI)
// through /dev/mem: each access exits to vmm at an address it must count
// without growing (more pages than its exit counter names one by one).
func mapHole(n int) ([][]byte, error) {
	f, err := os.OpenFile("/dev/mem", os.O_RDWR|os.O_SYNC, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var pages [][]byte
	for i := range n {
		off := int64(0xd0000000) + int64(i)*(0x2ec00000/int64(n))&^0xfff
		p, err := syscall.Mmap(int(f.Fd()), off, 4096, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
		if err != nil {
			fmt.Println("HAMMER-NOTE /dev/mem at", off, err)
			continue
		}
		pages = append(pages, p)
	}
	return pages, nil
}

// mapBAR maps a PCI BAR through its sysfs resource file.
func mapBAR(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.Size() < 4 {
		return nil, fmt.Errorf("%s: %v (size %d)", path, err, st.Size())
	}
	return syscall.Mmap(int(f.Fd()), 0, int(st.Size()), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
}
