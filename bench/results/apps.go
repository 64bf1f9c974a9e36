package results

// AppRun is one application image (vmm bench all --app) measured beside
// the workloads: its start on every target that runs images, and one
// idle instance's memory on each.
type AppRun struct {
	Image string `json:"image"` // as given: a file or a name in vmm's store
	ID    string `json:"id"`    // sha256:HEX of its config
	Ready string `json:"ready"` // what counted as ready (log:TEXT)
	// Workload is the bench workload the image packs (--app
	// workload:NAME): its start then also has Baseline(vm) samples.
	Workload string         `json:"workload,omitempty"`
	Skipped  []Unavailable  `json:"skipped,omitempty"`
	Start    *StartResults  `json:"start,omitempty"`
	Memory   []MemorySample `json:"memory,omitempty"`
	Disk     *ImageDisk     `json:"disk,omitempty"`
	// Density is N idle instances of the image at once per density
	// target (vmm bench all --app-n).
	Density []DensityRun `json:"density,omitempty"`
	// Leftovers is what its runs left behind (its bridge's taps, veths).
	Leftovers []string `json:"leftovers,omitempty"`
}

// MedianReady is target's median launch → ready time for the image,
// NaN without samples.
func (a AppRun) MedianReady(target string) float64 { return medianReady(a.Start, target) }

// MemoryOf is target's idle sample of the image, nil without one.
func (a AppRun) MemoryOf(target string) *MemorySample { return memoryOf(a.Memory, target) }

// Baseline names the samples of target running a packed workload from
// the bench's own image, beside the image that packs it.
func Baseline(target string) string { return target + " (bench image)" }

// ImageDisk is an application image's footprint on disk.
type ImageDisk struct {
	TarballBytes int64       `json:"tarball_bytes,omitempty"` // the file given (0 for a store name)
	Layers       []LayerDisk `json:"layers"`
	// Ext4Bytes is the allocated size of the VMs' read-only ext4: one
	// copy, shared by every VM of the image.
	Ext4Bytes int64 `json:"ext4_bytes"`
}

// LayerDisk is one of an image's layers, unpacked once in vmm's store.
type LayerDisk struct {
	ID    string `json:"id"`    // its directory's name in the store
	Bytes int64  `json:"bytes"` // allocated bytes of that directory
	// SharedWith names the other --app images that use the same layer
	// (the same directory: one copy on disk).
	SharedWith []string `json:"shared_with,omitempty"`
}

// LayerBytes is the allocated size of all its unpacked layers.
func (d ImageDisk) LayerBytes() int64 {
	var n int64
	for _, l := range d.Layers {
		n += l.Bytes
	}
	return n
}
