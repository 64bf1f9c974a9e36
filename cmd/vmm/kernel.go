package main

import (
	"fmt"
	"io"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vmmlab/vmm/kernelcache"
)

// kernelInput is the kernel vmm boots: the --kernel file's bytes, or with
// --unpack-kernel the kernel unpacked from it, mapped from the cache
// instead of copied into vmm's heap.
type kernelInput struct {
	data    []byte
	fact    string // what --unpack-kernel did, said on stderr
	release func() // unmaps data once it is in guest memory
}

// loadKernel reads --kernel, or finds its unpacked kernel in
// --unpack-kernel's directory, having vmm-tools unpack it there first
// when it is missing (the decompressors stay out of the vmm binary). A
// bzImage that cannot boot unpacked (a compression vmm does not read, no
// PVH entry point) boots as it is, and fact says why.
func (o bootOptions) loadKernel(stderr io.Writer) (kernelInput, error) {
	whole := func(fact string) (kernelInput, error) {
		b, err := readInput("kernel", o.kernel)
		return kernelInput{data: b, fact: fact, release: func() {}}, err
	}
	if o.unpackKernel == "" {
		return whole("")
	}
	cache := kernelcache.Dir(o.unpackKernel)
	e, err := cache.Find(o.kernel)
	if err != nil {
		return kernelInput{}, err
	}
	how := "unpacked before, " + e.Vmlinux
	if e.Vmlinux == "" && e.Refused == "" {
		t0 := time.Now()
		if code := runHelper("vmm-tools", []string{"unpack-kernel", "--into", o.unpackKernel, o.kernel}, io.Discard, stderr); code != 0 {
			return kernelInput{}, fmt.Errorf("--unpack-kernel: vmm-tools unpack-kernel failed (exit status %d)", code)
		}
		if e, err = cache.Find(o.kernel); err != nil {
			return kernelInput{}, err
		}
		if e.Vmlinux == "" && e.Refused == "" {
			return kernelInput{}, fmt.Errorf("--unpack-kernel: %s changed while it was unpacked; boot again", o.kernel)
		}
		how = fmt.Sprintf("unpacked now in %v, kept as %s", time.Since(t0).Round(time.Millisecond), e.Vmlinux)
	}
	if e.Refused != "" {
		return whole(fmt.Sprintf("--unpack-kernel: %s cannot boot unpacked (%s); booting it through its own decompressor", o.kernel, e.Refused))
	}
	data, release, err := mapFile(e.Vmlinux)
	if err != nil {
		return kernelInput{}, fmt.Errorf("--unpack-kernel: %w", err)
	}
	return kernelInput{data: data, release: release,
		fact: fmt.Sprintf("kernel: %s (%s); entering it at its PVH entry point, without its decompressor", o.kernel, how)}, nil
}

// mapFile maps a regular file read-only: its pages come from the page
// cache, shared with every other VM booting it, and leave vmm's resident
// set at release.
func mapFile(path string) ([]byte, func(), error) {
	f, size, err := openInput("unpacked kernel", path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	if size == 0 {
		return nil, nil, fmt.Errorf("unpacked kernel %s is empty", path)
	}
	b, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_PRIVATE)
	if err != nil {
		return nil, nil, fmt.Errorf("map %s: %w", path, err)
	}
	return b, func() { unix.Munmap(b) }, nil
}
