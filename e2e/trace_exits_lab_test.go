package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vmmlab/vmm/internal/kvmtest"
	"github.com/vmmlab/vmm/lab/labenv"
)

// --trace-exits on a Debian-kernel boot: the exits that reached vmm by
// cause and device (serial port I/O, PCI configuration), counts that add
// up to vmm's own exit count, and KVM's in-kernel statistics beside them;
// in text on the minimal kernel, a table whose rows add up to its total.
func TestTraceExits(t *testing.T) {
	l := kernelOnly(t)
	micro := kvmtest.File(t, labenv.EnvMicroKernel)
	image := kvmtest.File(t, labenv.EnvWorkloadInitramfs)
	cmdline := testWorkload("0")
	r := l.boot(t, input{limit: 4 * time.Minute}, "--kernel", l.kernel, "--initrd", image, "--mem", "256M", "--trace-exits", "--cmdline", cmdline)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	res := r.result
	if res.Trace == nil {
		t.Fatalf("no exit_stats in the result: %s", res)
	}
	var sum, want uint64
	devices := map[string]uint64{}
	for _, s := range res.Trace.Exits {
		sum += s.Count
		devices[s.Device] += s.Count
	}
	for _, n := range res.Exits {
		want += n
	}
	if sum == 0 || sum != want {
		t.Errorf("exit_stats add up to %d, vmm counted %d exits", sum, want)
	}
	if devices["serial"] == 0 || devices["pci-conf1"] == 0 {
		t.Errorf("no serial or PCI configuration exits by device: %v", devices)
	}
	// Each PCI configuration read is a write of its address to 0xcf8,
	// which KVM queues without an exit, then a read of 0xcfc, which exits.
	if addr, data := res.Exits["io 0xcf8"], res.Exits["io 0xcfc"]; res.CoalescedWrites == 0 || addr >= res.CoalescedWrites || addr >= data {
		t.Errorf("%d writes to 0xcf8 queued without an exit, %d exits at 0xcf8, %d at 0xcfc: the address writes should have been queued",
			res.CoalescedWrites, addr, data)
	} else {
		t.Logf("PCI configuration: %d address writes queued without an exit, %d exits at 0xcf8, %d at 0xcfc", res.CoalescedWrites, addr, data)
	}
	if res.KVM == nil || res.KVM.VCPUs["exits"] < sum {
		t.Errorf("KVM's statistics: %+v; want its exit count, at least the %d that reached vmm", res.KVM, sum)
	} else {
		t.Logf("Debian kernel boot: %d exits reached vmm (serial %d, PCI config %d); KVM counted %d exits, %d halt exits, %d injected interrupts",
			sum, devices["serial"], devices["pci-conf1"], res.KVM.VCPUs["exits"], res.KVM.VCPUs["halt_exits"], res.KVM.VCPUs["irq_injections"])
	}

	// Text: vmm boot without --json (l.boot adds it), so run it directly.
	out := runVMMText(t, l.vmm, "boot", "--kernel", micro, "--virtio", "mmio", "--initrd", image, "--mem", "128M", "--trace-exits", "--cmdline", cmdline)
	head := regexp.MustCompile(`vmm: (\d+) VM exits reached vmm`).FindStringSubmatch(out)
	rows := regexp.MustCompile(`(?m)^  (?:io|mmio|KVM_EXIT)\S* *\S*\s.*?\s(\d+)\s+[\d.]+\s+[\d.]+$`).FindAllStringSubmatch(out, -1)
	var rowSum int
	for _, row := range rows {
		n, _ := strconv.Atoi(row[1])
		rowSum += n
	}
	if head == nil || strconv.Itoa(rowSum) != head[1] || !strings.Contains(out, " serial ") || !strings.Contains(out, "what KVM handled in the kernel") {
		t.Errorf("the exit table (rows add up to %d):\n%s", rowSum, out)
	}
}

// runVMMText runs vmm without --json and returns everything it printed.
// A boot or restore also writes its result to a --result-file, which is
// what labFault reads: a run that hit one of the nested lab's known
// faults is said in the log and run again (up to labTries runs).
func runVMMText(t *testing.T, vmm string, args ...string) string {
	t.Helper()
	results := filepath.Join(t.TempDir(), "result")
	if len(args) > 0 && (args[0] == "boot" || args[0] == "restore") {
		args = append([]string{args[0], "--result-file", results}, args[1:]...)
	}
	type ran struct {
		out []byte
		err error
	}
	r := retryLabFault(t, startKVMTrace(t), "vmm", labTries, func() (ran, string, bool) {
		os.Remove(results)
		out, err := runLimited(3*time.Minute, nil, vmm, args...)
		return ran{out, err}, string(out) + "\n" + readFile(results), err != nil
	})
	if r.err != nil {
		t.Fatalf("vmm %v: %v\n%s", args, r.err, r.out)
	}
	return string(r.out)
}

// --explain says, before the guest runs, where the entry point, the zero
// page and every device are.
func TestExplain(t *testing.T) {
	l := kernelOnly(t)
	micro := kvmtest.File(t, labenv.EnvMicroKernel)
	image := kvmtest.File(t, labenv.EnvWorkloadInitramfs)
	out := runVMMText(t, l.vmm, "boot", "--kernel", micro, "--virtio", "mmio", "--initrd", image, "--mem", "128M", "--explain",
		"--cmdline", testWorkload("0"))
	for _, want := range []string{"vCPU 0 starts at rip 0x100200 in 64-bit long mode", "the zero page (struct boot_params", "at 0x7000",
		"the page tables", "Guest RAM 0x0-0x7ffffff (128 MiB)", "usable RAM", "the initramfs at", "ACPI tables", "CPUID leaves",
		"The serial answers port I/O 0x3f8-0x3ff", "The rtc answers", "The i8042 answers", "The power answers", "The boot-timer answers",
		"The pci-conf1 answers", "virtio-rng is a virtio-mmio device at 0xd0000000"} {
		if !strings.Contains(out, want) {
			t.Errorf("--explain lacks %q", want)
		}
	}
	t.Logf("vmm boot --explain:\n%s", out[:strings.Index(out, "vmm: machine ready")])
}

// --trace-out writes a Chrome trace-event file: valid JSON, the boot
// phases in order, each vCPU's KVM_RUN and exit spans, vmm's set-up
// steps, a few MB at most for a whole Debian-kernel boot.
func TestTraceOut(t *testing.T) {
	l := kernelOnly(t)
	image := kvmtest.File(t, labenv.EnvWorkloadInitramfs)
	path := filepath.Join(t.TempDir(), "boot.json")
	runVMMText(t, l.vmm, "boot", "--kernel", l.kernel, "--initrd", image, "--mem", "256M", "--cpus", "2", "--trace-out", path,
		"--cmdline", testWorkload("0"))
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var tr struct {
		TraceEvents []struct {
			Name, Cat, Ph string
			TS, Dur       float64
			TID           int
		}
		OtherData map[string]any
	}
	if err := json.Unmarshal(b, &tr); err != nil {
		t.Fatalf("not trace-event JSON: %v", err)
	}
	at := map[string]float64{}
	kinds := map[string]int{}
	for _, e := range tr.TraceEvents {
		if e.Ph == "i" && e.Cat != "virtio" {
			at[e.Name] = e.TS
		}
		kinds[e.Cat+"/"+e.Ph]++
	}
	phases := []string{"vmm start", "machine built", "first KVM_RUN", "init (boot timer)", "stopped: poweroff"}
	for i, p := range phases {
		if _, ok := at[p]; !ok {
			t.Errorf("no %q mark", p)
		} else if i > 0 && at[p] < at[phases[i-1]] {
			t.Errorf("%q at %.0f µs comes before %q at %.0f µs", p, at[p], phases[i-1], at[phases[i-1]])
		}
	}
	if kinds["guest/X"] == 0 || kinds["exit/X"] == 0 || kinds["setup/X"] == 0 {
		t.Errorf("events by kind: %v; want KVM_RUN, exit and set-up spans", kinds)
	}
	if len(b) > 16<<20 {
		t.Errorf("the trace of one boot is %d MB", len(b)>>20)
	}
	t.Logf("--trace-out: %d KB, events by kind %v, %v aggregated; phases (µs) %v", len(b)>>10, kinds, tr.OtherData["aggregated_events"], at)
}
