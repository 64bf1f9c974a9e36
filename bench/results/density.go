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
	// LabFaults are the failures the nested lab's known-fault table
	// recognised: each one is recorded and the run went on without it.
	LabFaults []LabFault `json:"lab_faults,omitempty"`
	// Merging is what the host's same-page merging did, at each point
	// the run waited for it (vm-ksm); the last is at the end.
	Merging []MergingPoint `json:"merging,omitempty"`
}

// MergingPoint is KSM's state once it settled (or stopped waiting) with
// N instances up.
type MergingPoint struct {
	N       int     `json:"n"`
	Settled bool    `json:"settled"` // pages_sharing moved by under 1% over two full scans
	WaitS   float64 `json:"wait_s"`  // how long the run waited for it
	// PagesShared and PagesSharing are the host's counters: the pages
	// that back merged pages, and the pages merged into them beyond the
	// first (the pages saved).
	PagesShared  int64 `json:"pages_shared"`
	PagesSharing int64 `json:"pages_sharing"`
	// SavedPer is PagesSharing in bytes ÷ N; MergingPer the average of
	// the instances' own merged pages (/proc/PID/ksm_merging_pages), in
	// bytes.
	SavedPer   int64 `json:"saved_per_instance"`
	MergingPer int64 `json:"merging_per_instance"`
	// KsmdCPUS is the CPU time ksmd spent since the run switched it on.
	KsmdCPUS float64 `json:"ksmd_cpu_s"`
	// DropBefore and DropAfter are the host's MemAvailable drop when the
	// run began to wait and once it had waited.
	DropBefore int64 `json:"mem_available_drop_before"`
	DropAfter  int64 `json:"mem_available_drop_after"`
}

// LabFault is one instance lost to a known fault of the nested lab.
type LabFault struct {
	Attempt  int    `json:"attempt,omitempty"`  // the launch that failed (1 = the first)
	Instance int    `json:"instance,omitempty"` // or the running instance that ended
	Fault    string `json:"fault"`              // its name in the table
	Detail   string `json:"detail"`
}
