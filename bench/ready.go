package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Ready says when an OCI image's process is ready to serve (--ready).
type Ready struct {
	// Log: a line of its output contains this text (log:TEXT).
	Log string
	// Port: a TCP connection to it succeeds (tcp:PORT); with Path, an
	// HTTP GET of Path answers, whatever the status (http:PORT/PATH).
	Port uint16
	Path string
}

// maxReadyLen bounds a ready condition: it may come from an image's
// label, which the image's author wrote.
const maxReadyLen = 256

// ParseReady reads --ready: log:TEXT, tcp:PORT or http:PORT/PATH. TEXT
// and PATH are printable (no control characters), PATH is a URL path
// (and query) the probe requests as it is.
func ParseReady(s string) (Ready, error) {
	bad := fmt.Errorf("--ready %q: want log:TEXT, tcp:PORT or http:PORT/PATH", s)
	if len(s) > maxReadyLen {
		return Ready{}, fmt.Errorf("--ready: %d bytes, more than %d", len(s), maxReadyLen)
	}
	if !utf8.ValidString(s) || strings.ContainsFunc(s, unicode.IsControl) {
		return Ready{}, fmt.Errorf("--ready %q: control characters or invalid UTF-8", s)
	}
	kind, arg, _ := strings.Cut(s, ":")
	switch kind {
	case "log":
		if arg != "" {
			return Ready{Log: arg}, nil
		}
	case "tcp":
		if port, err := parsePort(arg); err == nil {
			return Ready{Port: port}, nil
		}
	case "http":
		p, path, ok := strings.Cut(arg, "/")
		if port, err := parsePort(p); err == nil && ok && requestPath("/"+path) {
			return Ready{Port: port, Path: "/" + path}, nil
		}
	}
	return Ready{}, bad
}

// requestPath says whether p is an origin-form request target: a path
// with an optional query, nothing a URL would read as more.
func requestPath(p string) bool {
	u, err := url.ParseRequestURI(p)
	return err == nil && u.Host == "" && u.Scheme == "" && u.Fragment == "" && u.Opaque == "" && !strings.ContainsAny(p, " #")
}

func parsePort(s string) (uint16, error) {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("port %q", s)
	}
	return uint16(n), nil
}

// String is the condition in --ready's syntax.
func (r Ready) String() string {
	switch {
	case r.Port == 0:
		return "log:" + r.Log
	case r.Path == "":
		return fmt.Sprintf("tcp:%d", r.Port)
	}
	return fmt.Sprintf("http:%d%s", r.Port, r.Path)
}

// network says whether the condition is checked over the network: the
// instance then needs an address on the bench's bridge.
func (r Ready) network() bool { return r.Port != 0 }

// probeInterval is how often probe tries again: the resolution of a
// network ready time.
const probeInterval = 5 * time.Millisecond

// probe waits until addr answers as r says, through dial, or ctx ends.
func (r Ready) probe(ctx context.Context, dial func(ctx context.Context, network, addr string) (net.Conn, error), addr netip.Addr) error {
	target := netip.AddrPortFrom(addr, r.Port).String()
	client := &http.Client{Transport: &http.Transport{DialContext: dial, DisableKeepAlives: true}}
	var last error
	for {
		last = r.try(ctx, dial, client, target)
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", r, last)
		case <-time.After(probeInterval):
		}
	}
}

// try is one attempt: a connection, or a whole HTTP answer.
func (r Ready) try(ctx context.Context, dial func(ctx context.Context, network, addr string) (net.Conn, error), client *http.Client, target string) error {
	actx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if r.Path == "" {
		c, err := dial(actx, "tcp", target)
		if err == nil {
			c.Close()
		}
		return err
	}
	req, err := http.NewRequestWithContext(actx, http.MethodGet, "http://"+target+r.Path, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return err
}
