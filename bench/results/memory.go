package results

// HostMemory is the part of /proc/meminfo the bench compares (bytes).
type HostMemory struct {
	MemTotal      int64 `json:"mem_total"`
	MemAvailable  int64 `json:"mem_available"`
	Slab          int64 `json:"slab"`
	KernelStack   int64 `json:"kernel_stack"`
	PageTables    int64 `json:"page_tables"`
	SecPageTables int64 `json:"sec_page_tables"` // KVM's secondary (EPT/NPT) page tables
}

// Sub is h - o, field by field.
func (h HostMemory) Sub(o HostMemory) HostMemory {
	return HostMemory{MemTotal: h.MemTotal - o.MemTotal, MemAvailable: h.MemAvailable - o.MemAvailable, Slab: h.Slab - o.Slab,
		KernelStack: h.KernelStack - o.KernelStack, PageTables: h.PageTables - o.PageTables, SecPageTables: h.SecPageTables - o.SecPageTables}
}

// Kernel is the kernel memory among the fields (slab, stacks, tables).
func (h HostMemory) Kernel() int64 { return h.Slab + h.KernelStack + h.PageTables + h.SecPageTables }

// ProcMemory is one process of an instance.
type ProcMemory struct {
	PID  int    `json:"pid"`
	Name string `json:"name"`
	Rss  uint64 `json:"rss"`
	Pss  uint64 `json:"pss"`
}

// MemorySample is one idle instance of a target, sampled after it was
// ready and had settled. Bytes throughout.
type MemorySample struct {
	Target  string       `json:"target"`
	Kind    Kind         `json:"kind"`
	ReadyMS float64      `json:"ready_ms"`
	Procs   []ProcMemory `json:"processes"`
	Pss     uint64       `json:"pss"` // sum over Procs
	Rss     uint64       `json:"rss"`
	// VMs: guest RAM configured, touched (Rss/Pss of the guest-RAM
	// mapping), and the VMM's own mappings (every other one).
	GuestConfigured uint64    `json:"guest_configured,omitempty"`
	GuestRss        uint64    `json:"guest_rss,omitempty"`
	GuestPss        uint64    `json:"guest_pss,omitempty"`
	GuestAnonHuge   uint64    `json:"guest_anon_huge,omitempty"`
	OwnRss          uint64    `json:"own_rss,omitempty"`
	OwnPss          uint64    `json:"own_pss,omitempty"`
	OwnTop          []Mapping `json:"own_top,omitempty"` // the VMM's largest own mappings by Rss
	// GuestMeminfo is where the guest's memory went, in KiB, as its init
	// reported it at the sample (/proc/meminfo's fields, and the largest
	// slab caches as slab:NAME); nil when not a VM or not reported.
	GuestMeminfo map[string]uint64 `json:"guest_meminfo_kib,omitempty"`
	// Containers: the cgroup's charge and its split.
	Cgroup       uint64            `json:"cgroup,omitempty"`
	CgroupStat   map[string]uint64 `json:"cgroup_stat,omitempty"`
	RuntimeProcs []string          `json:"runtime_processes,omitempty"` // besides the workload
	// Host is the /proc/meminfo change from before launch to the sample:
	// the kernel memory charged to the instance, whoever's it is.
	Host  HostMemory `json:"host_delta"`
	THP   string     `json:"thp"`
	Error string     `json:"error,omitempty"`
}

// Mapping is one entry of /proc/PID/smaps (sizes in bytes).
type Mapping struct {
	Name      string `json:"name"` // the mapped file, [heap], [anon], ...
	Size      uint64 `json:"size"`
	Rss       uint64 `json:"rss"`
	Pss       uint64 `json:"pss"`
	Anonymous uint64 `json:"anonymous"`
	AnonHuge  uint64 `json:"anon_huge"`
}
