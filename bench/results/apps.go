package results

// AppRun is one application image (vmm bench all --app) measured beside
// the workloads: its start on every target that runs images, and one
// idle instance's memory on each.
type AppRun struct {
	Image   string         `json:"image"` // as given: a file or a name in vmm's store
	ID      string         `json:"id"`    // sha256:HEX of its config
	Ready   string         `json:"ready"` // what counted as ready (log:TEXT)
	Skipped []Unavailable  `json:"skipped,omitempty"`
	Start   *StartResults  `json:"start,omitempty"`
	Memory  []MemorySample `json:"memory,omitempty"`
	// Leftovers is what its runs left behind (its bridge's taps, veths).
	Leftovers []string `json:"leftovers,omitempty"`
}

// MedianReady is target's median launch → ready time for the image,
// NaN without samples.
func (a AppRun) MedianReady(target string) float64 { return medianReady(a.Start, target) }

// MemoryOf is target's idle sample of the image, nil without one.
func (a AppRun) MemoryOf(target string) *MemorySample { return memoryOf(a.Memory, target) }
