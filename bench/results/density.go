package results

// DensityPoint is the state after instance N answered.
type DensityPoint struct {
	N                int     `json:"n"`
	ReadyMS          float64 `json:"ready_ms"`  // this instance's launch → ready marker
	AnswerMS         float64 `json:"answer_ms"` // launch → its HTTP answer
	ElapsedS         float64 `json:"elapsed_s"` // since the first launch
	MemAvailableDrop int64   `json:"mem_available_drop"`
}

// DensityRun is one target's density run.
type DensityRun struct {
	Target     string         `json:"target"`
	Max        int            `json:"max"`
	Budget     int64          `json:"budget"`
	Points     []DensityPoint `json:"points"`
	Count      int            `json:"count"` // instances alive and answering at the end
	StopReason string         `json:"stop_reason"`
	LaunchRate float64        `json:"launch_rate"` // instances per second
	// PerInstance: MemAvailable drop ÷ N, and the sum of PSS ÷ N.
	MemAvailablePer int64  `json:"mem_available_per_instance"`
	PssPer          uint64 `json:"pss_per_instance"`
	HostKernelPer   int64  `json:"host_kernel_per_instance"`
	// ImageCachedBytes is how much of an image's files (the VMs' ext4,
	// the containers' layers) sat in the host's page cache with all the
	// instances up: one copy, whatever their number. WrittenBytes is
	// what the instances wrote to host disk (their containers' upper
	// directories). Each nil when not measured (a VM writes into a tmpfs
	// in its own memory).
	ImageCachedBytes *int64   `json:"image_cached_bytes,omitempty"`
	WrittenBytes     *int64   `json:"written_bytes,omitempty"`
	Failures         []string `json:"failures,omitempty"`
	Leftovers        []string `json:"leftovers,omitempty"`
}
