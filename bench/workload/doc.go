// Package workload holds what the bench's workloads share: their names
// and the ready marker they print. Each workload is a static program in
// a directory below this one (named as the workload); the same bytes run
// as a process, in a container and in a VM's initramfs. It is a leaf: the
// lab builds the workloads without linking the bench.
package workload

// Marker is the line prefix a workload prints once it is ready; the bench
// times launch → this line.
const Marker = "VMM-BENCH-READY"

// The workloads' names.
const (
	Hello = "hello"
	HTTP  = "http"
	CPU   = "cpu"
	Mem   = "mem"
	IO    = "io"
)

// Names lists the workloads, in the report's order.
func Names() []string { return []string{Hello, HTTP, CPU, Mem, IO} }
