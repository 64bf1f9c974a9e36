package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// netBlobSize is what each side sends the other to measure throughput.
const netBlobSize = 16 << 20

// guestPage is what the guest's web server answers on /.
const guestPage = "hello from the guest's web server\n"

// network serves guestPage and a blob on :80, says NET-READY, fetches
// hostURL/hello and hostURL/blob (printing what it got and how fast), then
// waits for the host to fetch /done before it exits.
func network(hostURL string) error {
	ln, err := net.Listen("tcp", ":80")
	if err != nil {
		return err
	}
	done := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, guestPage) })
	mux.HandleFunc("/blob", func(w http.ResponseWriter, r *http.Request) { w.Write(blob()) })
	mux.HandleFunc("/done", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "bye\n")
		select {
		case <-done:
		default:
			close(done)
		}
	})
	go http.Serve(ln, mux)
	if eth0, err := net.InterfaceByName("eth0"); err == nil {
		fmt.Printf("NET-MAC=%s\n", eth0.HardwareAddr)
	}
	fmt.Println("NET-READY")

	client := &http.Client{Timeout: 2 * time.Minute}
	hello, err := get(client, hostURL+"/hello")
	if err != nil {
		return err
	}
	fmt.Printf("NET-FETCHED=%s\n", hello)
	start := time.Now()
	data, err := get(client, hostURL+"/blob")
	if err != nil {
		return err
	}
	fmt.Printf("NET-RX-MBPS=%.1f\n", mbps(len(data), time.Since(start)))
	fmt.Printf("NET-RX sha256=%x bytes=%d\n", sha256.Sum256(data), len(data))

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	select {
	case <-done:
		time.Sleep(200 * time.Millisecond) // let the reply leave
		return nil
	case <-ctx.Done():
		return fmt.Errorf("the host never fetched /done")
	}
}

func get(c *http.Client, url string) ([]byte, error) {
	resp, err := c.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return io.ReadAll(resp.Body)
}

func blob() []byte {
	b := make([]byte, netBlobSize)
	for i := range b {
		b[i] = byte(i*13 + i>>10)
	}
	return b
}
