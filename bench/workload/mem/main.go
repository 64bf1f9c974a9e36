// Command mem touches N MiB of anonymous memory (one write per page),
// prints the ready marker, and idles until killed (or exits with -exit).
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/vmmlab/vmm/bench/workload"
)

func main() {
	mib := flag.Int("mib", 32, "MiB to touch")
	exit := flag.Bool("exit", false, "exit after touching instead of idling")
	flag.Parse()
	if *mib < 0 || *mib > 1<<20 {
		fmt.Fprintln(os.Stderr, "mem: -mib out of range")
		os.Exit(2)
	}
	buf := make([]byte, *mib<<20)
	for i := 0; i < len(buf); i += 4096 {
		buf[i] = 1
	}
	fmt.Println(workload.Marker, "mem", fmt.Sprintf("mib=%d", *mib))
	if *exit {
		return
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	<-sig
	buf[0]++ // keep buf alive until the end
}
