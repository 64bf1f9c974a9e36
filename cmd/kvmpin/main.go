// Command kvmpin keeps one empty KVM VM open until it is killed. The lab's
// outer guest starts it before the tests: while any VM exists, KVM leaves
// virtualization enabled on every CPU, instead of switching it on and off
// with cross-CPU calls each time the number of VMs goes from 0 to 1 and
// back. Tests that create and destroy many VMs in a row hung the emulated
// two-CPU outer guest twice that way.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/vmmlab/vmm/kvm"
)

func main() {
	sys, err := kvm.Open("")
	if err != nil {
		fmt.Fprintln(os.Stderr, "kvmpin:", err)
		os.Exit(1)
	}
	vm, err := sys.CreateVM()
	if err != nil {
		fmt.Fprintln(os.Stderr, "kvmpin:", err)
		os.Exit(1)
	}
	fmt.Println("kvmpin: holding one VM open")
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT)
	<-ch
	vm.Close()
	sys.Close()
}
