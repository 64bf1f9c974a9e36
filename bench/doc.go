// Package bench runs the same workload as a microVM, as a container and as
// a plain process, and measures start latency, host memory, density and
// image footprint side by side. It owns the targets (how each isolation
// technology is launched and observed), the runs (interleaved, rotated
// rounds), the statistics, the versioned results file, the comparison of
// two results files, and the reports (Markdown, HTML with inline SVG,
// charts as SVG and PNG).
package bench
