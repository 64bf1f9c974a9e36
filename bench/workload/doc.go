// Package workload holds what the bench's workloads share: the ready
// marker they print. Each workload is a static program in a directory
// below this one; the same bytes run as a process, in a container and in
// a VM's initramfs.
package workload

// Marker is the line prefix a workload prints once it is ready; the bench
// times launch → this line.
const Marker = "VMM-BENCH-READY"
