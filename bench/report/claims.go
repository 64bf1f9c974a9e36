package report

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"

	"github.com/vmmlab/vmm/bench/results"
)

// Claim is one common claim about VMs and containers with what this run
// measured and a verdict.
type Claim struct {
	Claim    string `json:"claim"`
	Measured string `json:"measured"`
	Verdict  string `json:"verdict"`
}

func mib(b float64) string { return fmt.Sprintf("%.1f MiB", b/(1<<20)) }

func secs(msv float64) string {
	if math.IsNaN(msv) {
		return "not run"
	}
	if msv < 1000 {
		return fmt.Sprintf("%.0f ms", msv)
	}
	return fmt.Sprintf("%.2f s", msv/1000)
}

const notMeasured = "not measured in this run"

// Claims fills the claims table from this run's numbers.
func Claims(r *results.Results) []Claim {
	nested := ""
	if r.Env.Nested {
		nested = " (nested lab: times are 20-100× hardware)"
	}
	var out []Claim
	// Start.
	c := Claim{Claim: "VMs take minutes to boot; containers start in milliseconds or under a second", Verdict: notMeasured}
	vm, stock, crun, docker := r.MedianReady(results.TargetVM), r.MedianReady(results.TargetVMStock), r.MedianReady(results.TargetCrun), r.MedianReady("docker")
	if !math.IsNaN(vm) || !math.IsNaN(crun) {
		c.Measured = fmt.Sprintf("median launch → ready: vm %s, vm-stock %s, crun %s, docker %s%s", secs(vm), secs(stock), secs(crun), secs(docker), nested)
		slowest := math.Max(nz(vm), nz(stock))
		switch {
		case math.IsNaN(vm) && math.IsNaN(stock):
			c.Verdict = notMeasured + ": no VM target ran"
		case slowest >= 60000:
			c.Verdict = "holds here for the VM side"
		case !math.IsNaN(crun) && !math.IsNaN(vm):
			c.Verdict = fmt.Sprintf("does not hold for VMs: no VM took a minute; a microVM was %.1f× crun's time, not orders of magnitude", vm/crun)
		default:
			c.Verdict = "does not hold for VMs: no VM took a minute"
		}
	}
	out = append(out, c)
	// Restart.
	c = Claim{Claim: "Restarting a VM can take several minutes", Verdict: notMeasured}
	if restored := r.MedianReady(results.TargetVMRestore); !math.IsNaN(restored) {
		c.Measured = fmt.Sprintf("median launch → ready: vm-restore (from a snapshot taken as the workload started) %s, vm cold boot %s, crun %s%s",
			secs(restored), secs(vm), secs(crun), nested)
		switch {
		case restored >= 60000:
			c.Verdict = "holds here"
		case !math.IsNaN(crun) && !math.IsNaN(vm):
			c.Verdict = fmt.Sprintf("does not hold: a microVM restored from a snapshot was ready in %.2f× its cold boot's time and %.1f× crun's", restored/vm, restored/crun)
		case !math.IsNaN(crun):
			c.Verdict = fmt.Sprintf("does not hold: a microVM restored from a snapshot was ready in %.1f× crun's time", restored/crun)
		default:
			c.Verdict = "does not hold: a restored microVM took well under a minute"
		}
	}
	out = append(out, c)
	// Memory.
	c = Claim{Claim: "VMs need hundreds of MB or GBs for the OS; containers use MBs", Verdict: notMeasured}
	if v, k := r.MemoryOf(results.TargetVM), r.MemoryOf(results.TargetCrun); v != nil && k != nil {
		c.Measured = fmt.Sprintf("idle http: vm PSS %s (guest touched %s of %s configured, VMM own %s); crun cgroup %s, PSS %s",
			mib(float64(v.Pss)), mib(float64(v.GuestRss)), mib(float64(v.GuestConfigured)), mib(float64(v.OwnRss)), mib(float64(k.Cgroup)), mib(float64(k.Pss)))
		if v.Pss >= 100<<20 {
			c.Verdict = "holds: the VM used hundreds of MB"
		} else {
			c.Verdict = fmt.Sprintf("does not hold for a microVM (%s), but it is still %.0f× the container", mib(float64(v.Pss)), float64(v.Pss)/math.Max(1, float64(max(k.Pss, k.Cgroup))))
		}
	}
	out = append(out, c)
	c = Claim{Claim: "containers consume almost zero background memory", Verdict: notMeasured}
	if k := r.MemoryOf(results.TargetCrun); k != nil {
		c.Measured = fmt.Sprintf("idle crun container: PSS %s, cgroup %s, host kernel Δ %s; runtime processes left: %d", mib(float64(k.Pss)), mib(float64(k.Cgroup)), mib(float64(k.Host.Kernel())), len(k.RuntimeProcs))
		if max(k.Pss, k.Cgroup) < 16<<20 {
			c.Verdict = "holds: a few MiB, all of it the workload's"
		} else {
			c.Verdict = "does not hold: more than 16 MiB"
		}
	}
	out = append(out, c)
	// Density.
	c = Claim{Claim: "5-20 VMs vs 100-1000+ containers per host", Verdict: notMeasured}
	if v, k := r.DensityOf(results.TargetVM), r.DensityOf(results.TargetCrun); v != nil || k != nil {
		lines := []string{densityLine(v)}
		for _, extra := range []string{results.TargetVMKSM, results.TargetVMPmem, results.TargetVMLean, results.TargetVMRestore} {
			if d := r.DensityOf(extra); d != nil {
				lines = append(lines, densityLine(d))
			}
		}
		c.Measured = strings.Join(append(lines, densityLine(k)), "; ")
		if v != nil && k != nil && v.MemAvailablePer > 0 && k.MemAvailablePer > 0 {
			ratio := float64(v.MemAvailablePer) / float64(k.MemAvailablePer)
			c.Verdict = fmt.Sprintf("depends on memory: per instance a microVM cost %.0f× a container here, so a host fits %.0f× more containers; the counts in the claim follow from per-instance memory, not from a fixed VM limit", ratio, ratio)
			c.Verdict += cheaperVMs(r, k)
		} else {
			c.Verdict = notMeasured + ": it needs the density of both vm and crun"
		}
	}
	out = append(out, c)
	// Image.
	c = Claim{Claim: "VM images are tens of GB; a container image is ~50 MB", Verdict: notMeasured}
	vmFiles, stockFiles, ctrFiles := footprintOf(r, results.TargetVM), footprintOf(r, results.TargetVMStock), footprintOf(r, "containers")
	if vmFiles != nil && stockFiles != nil && ctrFiles != nil {
		c.Measured = fmt.Sprintf("vm: %s, vm-stock: %s, container root: %s", mib(float64(vmFiles.Bytes)), mib(float64(stockFiles.Bytes)), mib(float64(ctrFiles.Bytes)))
		c.Verdict = "does not hold for a microVM: kernel + root disk are tens of MB, the same order as the container image"
	}
	if apps, largest := appDiskLine(r); largest != nil {
		c.Measured = strings.TrimPrefix(c.Measured+"; "+apps, "; ")
		if c.Verdict == notMeasured {
			c.Verdict = appDiskVerdict(largest)
		}
	}
	out = append(out, c)
	c = Claim{Claim: "1,000 containers from a 1 GB image need just over 1 GB (read-only layers are shared)", Verdict: notMeasured}
	if r.Footprint != nil && r.Footprint.LargeImage != nil && r.Footprint.LargeImage.Started > 0 {
		l := r.Footprint.LargeImage
		per := float64(l.BundleBytes) / float64(l.Started)
		c.Measured = fmt.Sprintf("%d %s containers from a %s image: disk %s in all (%.1f KiB each of their own)", l.Started, l.Target, mib(float64(l.ImageBytes)), mib(float64(l.DiskTotal)), per/1024)
		if float64(l.DiskTotal) < 1.1*float64(l.ImageBytes) {
			c.Verdict = "holds on disk: extrapolated, 1,000 such containers add " + mib(per*1000)
		} else {
			c.Verdict = "does not hold: per-container files add more than 10%"
		}
	}
	out = append(out, c)
	return out
}

// appDiskLine is the application images' file, layers and ext4 sizes,
// and the image whose ext4 is the largest (nil without any).
func appDiskLine(r *results.Results) (string, *results.ImageDisk) {
	var parts []string
	var largest *results.ImageDisk
	for _, a := range r.Apps {
		d := a.Disk
		if d == nil {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s: file %s, layers %s, VM ext4 %s", filepath.Base(a.Image), mib(float64(d.TarballBytes)),
			mib(float64(d.LayerBytes())), mib(float64(d.Ext4Bytes))))
		if largest == nil || d.Ext4Bytes > largest.Ext4Bytes {
			largest = d
		}
	}
	return strings.Join(parts, "; "), largest
}

// appDiskVerdict judges the claim from an application image's VM disk.
func appDiskVerdict(d *results.ImageDisk) string {
	if d.Ext4Bytes >= 1<<30 {
		return "holds for this image: its VM disk is over 1 GiB"
	}
	return fmt.Sprintf("does not hold for a microVM: an application image's VM disk was %s, %.1f× its unpacked layers, not tens of GB",
		mib(float64(d.Ext4Bytes)), float64(d.Ext4Bytes)/math.Max(1, float64(d.LayerBytes())))
}

// footprintOf is target's files in the run's footprint, or nil.
func footprintOf(r *results.Results, target string) *results.FootprintFile {
	if r.Footprint == nil {
		return nil
	}
	for i, f := range r.Footprint.Files {
		if f.Target == target {
			return &r.Footprint.Files[i]
		}
	}
	return nil
}

func nz(x float64) float64 {
	if math.IsNaN(x) {
		return 0
	}
	return x
}

// cheaperVMs says what the memory mechanisms made of a microVM's cost
// against container k's.
func cheaperVMs(r *results.Results, k *results.DensityRun) string {
	out := ""
	for _, m := range []struct{ target, what string }{{results.TargetVMKSM, "with same-page merging (vm-ksm) a microVM cost"},
		{results.TargetVMPmem, "with its root on virtio-pmem (vm-pmem) one cost"},
		{results.TargetVMLean, "with merging and free page reporting (vm-lean) one cost"},
		{results.TargetVMRestore, "clones of one snapshot cost"}} {
		if d := r.DensityOf(m.target); d != nil && d.MemAvailablePer > 0 {
			out += fmt.Sprintf("; %s %.1f× a container", m.what, float64(d.MemAvailablePer)/float64(k.MemAvailablePer))
		}
	}
	return out
}

func densityLine(d *results.DensityRun) string {
	if d == nil {
		return "not run"
	}
	return fmt.Sprintf("%s: %d answering (%s), %s MemAvailable and %s PSS each", d.Target, d.Count, d.StopReason,
		mib(float64(d.MemAvailablePer)), mib(float64(d.PssPer)))
}
