// Command hello prints the bench's ready marker and exits 0: the smallest
// workload, so that launch → ready measures the isolation, not the work.
package main

import (
	"fmt"

	"github.com/vmmlab/vmm/bench/workload"
)

func main() { fmt.Println(workload.Marker, "hello") }
