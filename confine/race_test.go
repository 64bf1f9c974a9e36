//go:build race

package confine

// The race detector's runtime (TSan) makes system calls of its own (it
// opens files, for one) that vmm, never built with -race, does not make.
const raceEnabled = true
