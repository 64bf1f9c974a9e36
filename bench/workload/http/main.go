// Command http listens on a TCP port (default :8080), prints the bench's
// ready marker once it accepts connections, serves a fixed page on / and a
// small computation on /work, and idles otherwise until it is killed.
package main

import (
	"crypto/sha256"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"

	"github.com/vmmlab/vmm/bench/workload"
)

// Page is what / serves; the bench checks for it.
const Page = "vmm bench: hello over http\n"

func main() {
	addr := flag.String("addr", ":8080", "address to listen on")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "http:", err)
		os.Exit(1)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, Page) })
	mux.HandleFunc("/work", func(w http.ResponseWriter, _ *http.Request) {
		sum := sha256.Sum256([]byte(Page))
		for i := 0; i < 10000; i++ {
			sum = sha256.Sum256(sum[:])
		}
		fmt.Fprintf(w, "%x\n", sum)
	})
	fmt.Println(workload.Marker, "http", ln.Addr())
	if err := http.Serve(ln, mux); err != nil {
		fmt.Fprintln(os.Stderr, "http:", err)
		os.Exit(1)
	}
}
