// Package bench runs the same workload as a microVM, as a container and as
// a plain process, and measures start latency, host memory, density and
// image footprint side by side. It owns the targets (how each isolation
// technology is launched and observed) and the runs (interleaved, rotated
// rounds); what they measured goes into a results.Results, which package
// report renders and package stats summarises.
package bench
