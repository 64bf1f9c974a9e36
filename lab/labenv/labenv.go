// Package labenv names the environment the outer guest gives the lab's
// tests: where each file the lab ships lies inside it. Package lab sets
// them; tests read them with kvmtest.File. A package of its own, so that
// any test can import it without the lab's own dependencies.
package labenv

// The variables, each with what it names.
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
	EnvImages            = "VMM_LAB_IMAGES"             // the application images' docker save tarballs (debian.tar, redis.tar, nginx.tar, busybox.tar)
)
