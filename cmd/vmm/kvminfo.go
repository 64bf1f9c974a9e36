package main

import (
	"fmt"
	"io"

	flag "github.com/spf13/pflag"

	"github.com/vmmlab/vmm/kvm"
)

func runKVMInfo(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("vmm kvm-info", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dev := fs.String("device", kvm.DefaultDevice, "KVM device node")
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	if err := kvmInfo(*dev, stdout); err != nil {
		fmt.Fprintln(stderr, "vmm:", err)
		return 1
	}
	return 0
}

func kvmInfo(dev string, w io.Writer) error {
	sys, err := kvm.Open(dev)
	if err != nil {
		return err
	}
	defer sys.Close()
	v, err := sys.APIVersion()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "device        %s\napi version   %d\n", dev, v)
	caps := []struct {
		name string
		c    kvm.Cap
	}{
		{"irqchip", kvm.CapIRQChip}, {"pit2", kvm.CapPIT2}, {"ioeventfd", kvm.CapIOEventFD},
		{"irqfd", kvm.CapIRQFD}, {"signal-msi", kvm.CapSignalMSI}, {"immediate-exit", kvm.CapImmediateExit},
		{"nr-vcpus", kvm.CapNrVCPUs}, {"max-vcpus", kvm.CapMaxVCPUs}, {"nr-memslots", kvm.CapNrMemSlots},
	}
	for _, c := range caps {
		n, err := sys.CheckExtension(c.c)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "%-13s %d\n", c.name, n)
	}
	cpuid, err := sys.SupportedCPUID()
	if err != nil {
		return err
	}
	msrs, err := sys.MSRIndexList()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "cpuid leaves  %d\nmsrs          %d\n", len(cpuid), len(msrs))
	return nil
}
