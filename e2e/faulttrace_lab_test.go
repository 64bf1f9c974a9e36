package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// faultsTrace is the lab's trace instance of triple faults (see
// lab/outer-init.sh): SVM shutdown exits, KVM_EXIT_SHUTDOWN exits to the
// VMM and the exceptions KVM injected, each with its process (TGID). The
// main trace holds every exit of every VM and, under 20 VMs, overwrites
// a fault within seconds; this one keeps them all.
const faultsTrace = "instances/faults/trace"

// shutdownLines returns the trace lines of triple faults: the faults
// instance's when the lab's init made it, the main trace's otherwise.
func (tr *kvmTrace) shutdownLines() ([]string, error) {
	b, err := os.ReadFile(filepath.Join(tr.dir, faultsTrace))
	if os.IsNotExist(err) {
		b, err = os.ReadFile(filepath.Join(tr.dir, "trace"))
	}
	return strings.Split(string(b), "\n"), err
}

// deliveryFaults counts the triple faults in the trace that happened
// while the CPU delivered an event (an interrupt or exception) to the
// guest: SVM shutdown exits whose EXITINTINFO is valid (bit 31). The
// nested lab makes these under load for QEMU's guests as for vmm's:
// TestTwentyAtOnceVMMAndQEMU (-tags loadtest), 40 guests each, 20 at a
// time, with no device but the console, counted one for QEMU (delivering
// a #PF) and one for vmm (delivering the timer interrupt, 0xec), in
// healthy guests that were touching fresh memory. The emulated SVM under
// QEMU TCG, not the VMM, is the first suspect. TestTwentyVMsAtOnce's
// have all been the CPU delivering a #PF for an instruction fetch
// (intr_info 0x80000b0e, error code 0x10 or 0x18) at a kernel text
// address, which Linux always maps.
func (tr *kvmTrace) deliveryFaults(t *testing.T) int {
	t.Helper()
	lines, err := tr.shutdownLines()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range lines {
		if deliveryShutdown(l) {
			n++
		}
	}
	return n
}

// deliveryShutdown reports whether a trace line is an SVM shutdown exit
// whose EXITINTINFO is valid.
func deliveryShutdown(l string) bool {
	_, info, ok := strings.Cut(l, "reason shutdown ")
	if !ok {
		return false
	}
	f := strings.Fields(info)
	for i := 0; i+1 < len(f); i++ {
		if f[i] == "intr_info" && strings.HasPrefix(f[i+1], "0x8") {
			return true
		}
	}
	return false
}

// faultsOf returns the faults instance's lines of process pid: its
// vCPUs' triple faults and the exceptions KVM injected into its guest.
// Read it when the process has ended and before the next test clears it.
func (tr *kvmTrace) faultsOf(pid int) string {
	b, err := os.ReadFile(filepath.Join(tr.dir, faultsTrace))
	if err != nil {
		return fmt.Sprintf("(no faults trace: %v)", err)
	}
	own := regexp.MustCompile(`\(\s*` + strconv.Itoa(pid) + `\)`)
	var mine []string
	for _, l := range strings.Split(string(b), "\n") {
		if own.MatchString(l) {
			mine = append(mine, strings.TrimSpace(l))
		}
	}
	return strings.Join(mine, "\n")
}

// tripleFaultKind says, from a process's faultsOf lines, how its guest's
// triple fault came about: "delivery" when the CPU shut down while it
// delivered an event (deliveryShutdown), "cpu" for a shutdown exit
// without one, "kvm" when KVM reported the shutdown with no shutdown
// exit (it made the triple fault itself, as when an exception it injects
// meets a pending double fault), "" when the trace shows no shutdown.
func tripleFaultKind(faults string) string {
	kind := ""
	for _, l := range strings.Split(faults, "\n") {
		switch {
		case deliveryShutdown(l):
			return "delivery"
		case strings.Contains(l, "reason shutdown"):
			kind = "cpu"
		case strings.Contains(l, "KVM_EXIT_SHUTDOWN") && kind == "":
			kind = "kvm"
		}
	}
	return kind
}

// beforeShutdown returns, for the first shutdown in faultsOf's lines,
// the last n events of the same vCPU thread in the main trace: what it
// did before the fault, if the busy buffer still holds it.
func (tr *kvmTrace) beforeShutdown(faults string, n int) string {
	var thread string
	for _, l := range strings.Split(faults, "\n") {
		if strings.Contains(l, "reason shutdown") || strings.Contains(l, "KVM_EXIT_SHUTDOWN") {
			thread = strings.Fields(l)[0]
			break
		}
	}
	if thread == "" {
		return ""
	}
	b, err := os.ReadFile(filepath.Join(tr.dir, "trace"))
	if err != nil {
		return err.Error()
	}
	var mine []string
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[0] == thread {
			mine = append(mine, l)
		}
	}
	return thread + "'s last events in the main trace:\n" + strings.Join(mine[max(0, len(mine)-n):], "\n")
}
