// Command http listens on a TCP port (default :8080), prints the bench's
// ready marker once it accepts connections, serves a fixed page on / and a
// small computation on /work, and idles otherwise until it is killed.
//
// It speaks just enough HTTP/1.1 for that (one request per connection,
// then close) on the net package alone: net/http would triple its size,
// and every byte of it is loaded into each VM and container.
package main

import (
	"bufio"
	"crypto/sha256"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

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
	fmt.Println(workload.Marker, "http", ln.Addr())
	for {
		c, err := ln.Accept()
		if err != nil {
			fmt.Fprintln(os.Stderr, "http:", err)
			os.Exit(1)
		}
		go serve(c)
	}
}

// serve answers one request on c and closes it.
func serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	status, body := respond(bufio.NewReaderSize(c, 4096))
	fmt.Fprintf(c, "HTTP/1.1 %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		status, len(body), body)
}

// respond reads a request (its line and headers, at most 64 lines of
// 4 KiB) and returns the status and body to send.
func respond(r *bufio.Reader) (status, body string) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		return "400 Bad Request", "bad request\n"
	}
	method, rest, _ := strings.Cut(strings.TrimSpace(string(line)), " ")
	target, _, _ := strings.Cut(rest, " ")
	for i := 0; ; i++ {
		h, err := r.ReadSlice('\n')
		if err != nil || i == 64 {
			return "400 Bad Request", "bad request\n"
		}
		if strings.TrimSpace(string(h)) == "" {
			break
		}
	}
	if method != "GET" && method != "HEAD" {
		return "405 Method Not Allowed", "GET only\n"
	}
	switch target {
	case "/":
		return "200 OK", Page
	case "/work":
		sum := sha256.Sum256([]byte(Page))
		for i := 0; i < 10000; i++ {
			sum = sha256.Sum256(sum[:])
		}
		return "200 OK", fmt.Sprintf("%x\n", sum)
	}
	return "404 Not Found", "not found\n"
}
