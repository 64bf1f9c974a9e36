package lab

// The environment the outer guest gives the lab's tests: where each file
// the lab ships lies inside it. cmd/vmm-lab sets them; tests read them
// with kvmtest.File.
const (
	EnvVMM               = "VMM_BIN"                    // the vmm binary
	EnvKernel            = "VMM_LAB_KERNEL"             // the Debian kernel's bzImage
	EnvMicroKernel       = "VMM_LAB_MICRO_KERNEL"       // the minimal kernel's bzImage
	EnvMicroVmlinux      = "VMM_LAB_MICRO_VMLINUX"      // the same kernel as an ELF vmlinux (PVH)
	EnvWorkloadInitramfs = "VMM_LAB_WORKLOAD_INITRAMFS" // vmm-init, testworkload and the Debian kernel's modules
	EnvTestWorkload      = "VMM_LAB_TESTWORKLOAD"       // the testworkload program
	EnvDisk              = "VMM_LAB_DISK"               // a small ext4 image
	EnvBusybox           = "VMM_LAB_BUSYBOX"            // a static busybox
	EnvBench             = "VMM_LAB_BENCH"              // the bench's assets
)
