package bench

import (
	"os"
	"runtime"
	"strings"

	"github.com/vmmlab/vmm/bench/results"
	"github.com/vmmlab/vmm/bench/workload"
	"github.com/vmmlab/vmm/container"
)

// detectEnvironment reads the host's description; nested is set by the
// caller (the lab says so through the environment).
func detectEnvironment(a Assets, nested bool) results.Environment {
	e := results.Environment{Cores: runtime.NumCPU(), Nested: nested, THP: thpMode(), GoVersion: runtime.Version(),
		VMMRevision: commandVersion(a.VMM, "version"),
		Kernels:     map[string]string{"minimal": kernelVersion(a.MicroKernel), "stock": kernelVersion(a.StockKernel)}}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		e.Host = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				e.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if h, err := ReadHostMemory(); err == nil {
		e.MemTotal = uint64(h.MemTotal)
	}
	for _, m := range []string{"kvm_amd", "kvm_intel"} {
		if _, err := os.Stat("/sys/module/" + m); err == nil {
			e.KVMModule = m
			if b, err := os.ReadFile("/sys/module/kvm/parameters/nx_huge_pages"); err == nil {
				e.KVMModule += ", nx_huge_pages=" + strings.TrimSpace(string(b))
			}
		}
	}
	if e.KVMModule == "" {
		e.KVMModule = "none"
	}
	if nested {
		e.NestedNote = "nested: outer guest under QEMU TCG (software emulation); absolute times are not hardware times, compare ratios"
	}
	return e
}

// hashWorkloads returns the sha256 of each workload program.
func hashWorkloads(a Assets) (map[string]string, error) {
	out := map[string]string{}
	for _, w := range workload.Names() {
		sum, err := container.FileSHA256(a.Workload(w))
		if err != nil {
			return nil, err
		}
		out[w] = sum
	}
	return out, nil
}
